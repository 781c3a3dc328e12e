import { kioskAction, kioskMoneyAction } from '../_shared/actions.ts';
import { createRouter } from '../_shared/router.ts';
import { kioskBalanceBody, kioskPayBody } from '../_shared/schemas.ts';
import { supabase } from '../_shared/supabase.ts';

// A kiosk signs in as nobody: its device key, checked in SQL, is its credential.
Deno.serve(
  createRouter('kiosk', {
    pay: {
      POST: kioskMoneyAction(kioskPayBody, (kioskKey, body, idempotencyKey) =>
        supabase.rpc('kiosk_pay', {
          p_kiosk_key: kioskKey,
          p_phone: body.phone,
          p_pin: body.pin,
          p_amount: body.amount,
          p_idempotency_key: idempotencyKey,
        }),
      ),
    },
    balance: {
      POST: kioskAction(kioskBalanceBody, (kioskKey, body) =>
        supabase.rpc('kiosk_balance', { p_kiosk_key: kioskKey, p_phone: body.phone, p_pin: body.pin }),
      ),
    },
  }),
);
