import { staffAction, staffMoneyAction } from '../_shared/actions.ts';
import { createRouter } from '../_shared/router.ts';
import { customerBody, refundBody } from '../_shared/schemas.ts';
import { supabase } from '../_shared/supabase.ts';

// Refund of the remaining balance (환불): the quote reads the figures and the statutory right, the
// refund pays out the paid part less the fee and forfeits the bonus. SQL holds every rule.
Deno.serve(
  createRouter('refunds', {
    '': {
      POST: staffMoneyAction(refundBody, (actor, body, idempotencyKey) =>
        supabase.rpc('refund_balance', {
          ...actor,
          p_customer_id: body.customer_id,
          p_method: body.method,
          p_idempotency_key: idempotencyKey,
          p_memo: body.memo,
          p_shop_id: body.shop_id,
        }),
      ),
    },
    quote: {
      POST: staffAction(customerBody, (actor, body) =>
        supabase.rpc('quote_refund', { ...actor, p_customer_id: body.customer_id, p_shop_id: body.shop_id }),
      ),
    },
  }),
);
