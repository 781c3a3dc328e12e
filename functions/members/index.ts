import type { z } from 'zod';
import { staffAction, staffQueryAction } from '../_shared/actions.ts';
import type { StaffActor } from '../_shared/auth.ts';
import { createRouter } from '../_shared/router.ts';
import { UnexpectedRpcFailure } from '../_shared/rpc.ts';
import { addMemberBody, removeMemberBody, shopQuery, updateMemberBody } from '../_shared/schemas.ts';
import { supabase } from '../_shared/supabase.ts';

// SQL decides who may add whom before anyone is invited: only when it answers user_not_found does
// the function invite the address through GoTrue, then asks SQL again, which checks everything anew.
// Two concurrent adds of one new address both invite; the second invite finds the user already made
// (email_exists) and both calls go on to the same insert, of which one wins.
async function addMember(actor: StaffActor, body: z.output<typeof addMemberBody>) {
  const add = () =>
    supabase.rpc('add_shop_member', {
      ...actor,
      p_shop_id: body.shop_id,
      p_email: body.email,
      p_role: body.role,
    });
  const first = await add();
  if (first.error?.code !== 'user_not_found') return first;
  const invited = await supabase.auth.admin.inviteUserByEmail(body.email);
  if (invited.error && invited.error.code !== 'email_exists') throw new UnexpectedRpcFailure(invited.error);
  return add();
}

Deno.serve(
  createRouter('members', {
    '': {
      GET: staffQueryAction(shopQuery, (actor, query) =>
        supabase.rpc('list_shop_members', { ...actor, p_shop_id: query.shop_id }),
      ),
      POST: staffAction(addMemberBody, addMember, 201),
      PATCH: staffAction(updateMemberBody, (actor, body) =>
        supabase.rpc('update_shop_member', {
          ...actor,
          p_shop_id: body.shop_id,
          p_user_id: body.user_id,
          p_role: body.role,
        }),
      ),
    },
    remove: {
      POST: staffAction(removeMemberBody, (actor, body) =>
        supabase.rpc('remove_shop_member', { ...actor, p_shop_id: body.shop_id, p_user_id: body.user_id }),
      ),
    },
  }),
);
