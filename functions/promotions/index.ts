import { staffAction } from '../_shared/actions.ts';
import { createRouter } from '../_shared/router.ts';
import { createPromotionBody, endPromotionBody } from '../_shared/schemas.ts';
import { supabase } from '../_shared/supabase.ts';

// Charge promotions: an owner creates and ends them; the charge itself finds the best active one.
Deno.serve(
  createRouter('promotions', {
    '': {
      POST: staffAction(
        createPromotionBody,
        (actor, body) =>
          supabase.rpc('create_promotion', {
            ...actor,
            p_shop_id: body.shop_id,
            p_min_charge: body.min_charge,
            p_bonus_amount: body.bonus_amount,
            p_bonus_percent: body.bonus_percent,
            p_starts_at: body.starts_at,
            p_ends_at: body.ends_at,
          }),
        201,
      ),
    },
    end: {
      POST: staffAction(endPromotionBody, (actor, body) =>
        supabase.rpc('end_promotion', { ...actor, p_promotion_id: body.promotion_id }),
      ),
    },
  }),
);
