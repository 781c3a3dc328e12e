import { staffAction } from '../_shared/actions.ts';
import { hasKioskKey, requireKioskKey } from '../_shared/auth.ts';
import { readJsonBody } from '../_shared/request.ts';
import { createRouter } from '../_shared/router.ts';
import { resultReply, rpcData } from '../_shared/rpc.ts';
import { customerBody, customerPinBody } from '../_shared/schemas.ts';
import { staffActor, supabase } from '../_shared/supabase.ts';

Deno.serve(
  createRouter('pin', {
    set: {
      POST: staffAction(customerPinBody, (actor, body) =>
        supabase.rpc('set_pin', { ...actor, p_customer_id: body.customer_id, p_pin: body.pin, p_shop_id: body.shop_id }),
      ),
    },
    // A kiosk identifies itself with its device key; anyone else must be a signed-in shop member.
    verify: {
      POST: async (request) => {
        const actor = hasKioskKey(request)
          ? { p_kiosk_key: requireKioskKey(request) }
          : await staffActor(request);
        const body = await readJsonBody(request, customerPinBody);
        const result = await supabase.rpc('verify_pin_atomic', {
          ...actor,
          p_customer_id: body.customer_id,
          p_pin: body.pin,
          p_shop_id: body.shop_id,
        });
        return resultReply(rpcData(result));
      },
    },
    unlock: {
      POST: staffAction(customerBody, (actor, body) =>
        supabase.rpc('unlock_pin', { ...actor, p_customer_id: body.customer_id, p_shop_id: body.shop_id }),
      ),
    },
  }),
);
