// The owner's management of the shop's kiosks (register a device, deactivate it). The device itself calls
// `kiosk/…` (functions/kiosk); this name differs by more than one letter so that neither is mistaken for
// the other. The old name `kiosks` still answers, with a pointer here (functions/kiosks).

import { staffAction } from '../_shared/actions.ts';
import { createRouter } from '../_shared/router.ts';
import { deactivateKioskBody, registerKioskBody } from '../_shared/schemas.ts';
import { supabase } from '../_shared/supabase.ts';

Deno.serve(
  createRouter('shop-kiosks', {
    // The answer carries the device key; it is shown this once and only its hash is kept.
    '': {
      POST: staffAction(
        registerKioskBody,
        (actor, body) => supabase.rpc('register_kiosk', { ...actor, p_shop_id: body.shop_id, p_name: body.name }),
        201,
      ),
    },
    deactivate: {
      POST: staffAction(deactivateKioskBody, (actor, body) =>
        supabase.rpc('deactivate_kiosk', { ...actor, p_kiosk_id: body.kiosk_id }),
      ),
    },
  }),
);
