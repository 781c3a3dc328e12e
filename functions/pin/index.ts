import { actionsFor, staffAction } from '../_shared/actions.ts';
import { requireKioskKey, type StaffActor } from '../_shared/auth.ts';
import { createRouter } from '../_shared/router.ts';
import { customerBody, customerPinBody } from '../_shared/schemas.ts';
import { staffActor, supabase } from '../_shared/supabase.ts';

// A kiosk identifies itself with its device key; anyone else must be a signed-in shop member.
const { action: kioskOrStaffAction } = actionsFor<StaffActor | { p_kiosk_key: string }>((request) =>
  request.headers.has('x-kiosk-key') ? { p_kiosk_key: requireKioskKey(request) } : staffActor(request),
);

Deno.serve(
  createRouter('pin', {
    set: {
      POST: staffAction(customerPinBody, (actor, body) =>
        supabase.rpc('set_pin', { ...actor, p_customer_id: body.customer_id, p_pin: body.pin, p_shop_id: body.shop_id }),
      ),
    },
    verify: {
      POST: kioskOrStaffAction(customerPinBody, (actor, body) =>
        supabase.rpc('verify_pin_atomic', { ...actor, p_customer_id: body.customer_id, p_pin: body.pin, p_shop_id: body.shop_id }),
      ),
    },
    unlock: {
      POST: staffAction(customerBody, (actor, body) =>
        supabase.rpc('unlock_pin', { ...actor, p_customer_id: body.customer_id, p_shop_id: body.shop_id }),
      ),
    },
  }),
);
