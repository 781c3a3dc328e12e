import { staffAction } from '../_shared/actions.ts';
import { createRouter } from '../_shared/router.ts';
import { createCustomerBody, customerBody, updateCustomerBody } from '../_shared/schemas.ts';
import { supabase } from '../_shared/supabase.ts';

Deno.serve(
  createRouter('customers', {
    '': {
      POST: staffAction(
        createCustomerBody,
        (actor, body) =>
          supabase.rpc('create_customer', {
            ...actor,
            p_shop_id: body.shop_id,
            p_name: body.name,
            p_phone: body.phone,
            p_pin: body.pin,
          }),
        201,
      ),
      PATCH: staffAction(updateCustomerBody, (actor, body) =>
        supabase.rpc('update_customer', {
          ...actor,
          p_customer_id: body.customer_id,
          p_name: body.name,
          p_phone: body.phone,
          p_shop_id: body.shop_id,
        }),
      ),
    },
    // Closing needs a zero balance; erasing (owner only, closed customers only) empties the name and
    // phone and deletes the PIN, while the ledger keeps every row.
    close: {
      POST: staffAction(customerBody, (actor, body) =>
        supabase.rpc('close_customer', { ...actor, p_customer_id: body.customer_id, p_shop_id: body.shop_id }),
      ),
    },
    erase: {
      POST: staffAction(customerBody, (actor, body) =>
        supabase.rpc('erase_customer', { ...actor, p_customer_id: body.customer_id, p_shop_id: body.shop_id }),
      ),
    },
  }),
);
