import { staffAction } from '../_shared/actions.ts';
import { createRouter } from '../_shared/router.ts';
import { createShopBody, updateShopBody } from '../_shared/schemas.ts';
import { supabase } from '../_shared/supabase.ts';

Deno.serve(
  createRouter('shops', {
    '': {
      // Any signed-in user opens a shop and becomes its first owner.
      POST: staffAction(createShopBody, (actor, body) => supabase.rpc('create_shop', { ...actor, p_name: body.name }), 201),
      PATCH: staffAction(updateShopBody, (actor, body) =>
        supabase.rpc('update_shop', {
          ...actor,
          p_shop_id: body.shop_id,
          p_name: body.name,
          p_max_balance: body.max_balance,
          p_pin_max_attempts: body.pin_max_attempts,
          p_pin_lock_minutes: body.pin_lock_minutes,
          p_spend_bonus_first: body.spend_bonus_first,
          p_refund_fee_percent: body.refund_fee_percent,
          p_allow_refunds_outside_right: body.allow_refunds_outside_right,
        }),
      ),
    },
  }),
);
