import { staffMoneyAction } from '../_shared/actions.ts';
import { createRouter } from '../_shared/router.ts';
import { cancelBody, moneyBody } from '../_shared/schemas.ts';
import { supabase } from '../_shared/supabase.ts';

// Charge and deduct take the same request; only the SQL function, which holds every rule, differs.
const balanceMovement = (rpc: 'charge_balance' | 'deduct_balance') =>
  staffMoneyAction(moneyBody, (actor, body, idempotencyKey) =>
    supabase.rpc(rpc, {
      ...actor,
      p_customer_id: body.customer_id,
      p_amount: body.amount,
      p_idempotency_key: idempotencyKey,
      p_memo: body.memo,
      p_shop_id: body.shop_id,
    }),
  );

Deno.serve(
  createRouter('transactions', {
    charge: { POST: balanceMovement('charge_balance') },
    deduct: { POST: balanceMovement('deduct_balance') },
    cancel: {
      POST: staffMoneyAction(cancelBody, (actor, body, idempotencyKey) =>
        supabase.rpc('cancel_transaction', {
          ...actor,
          p_transaction_id: body.transaction_id,
          p_idempotency_key: idempotencyKey,
          p_reason: body.reason,
          p_amount: body.amount,
          p_shop_id: body.shop_id,
        }),
      ),
    },
  }),
);
