import { describe, expect, it } from 'vitest';
import { addMemberBody, createShopBody, removeMemberBody, shopQuery, updateMemberBody, updateShopBody } from '../../functions/_shared/schemas.ts';

const SHOP_ID = '6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b';
const USER_ID = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';

const issuePaths = (result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  result.success ? [] : result.error!.issues.map((issue) => issue.path.join('.'));

describe('shop bodies', () => {
  it('opens a shop with a trimmed name only', () => {
    expect(createShopBody.parse({ name: '  모퉁이 카페 ' })).toEqual({ name: '모퉁이 카페' });
    expect(issuePaths(createShopBody.safeParse({ name: '카페', owner_id: USER_ID }))).toEqual(['']);
  });

  it.each([
    [{ max_balance: 1 }, []],
    [{ max_balance: 1_000_000_000 }, []],
    [{ max_balance: 0 }, ['max_balance']],
    [{ max_balance: 10_000_000_000 }, ['max_balance']],
    [{ pin_max_attempts: 21 }, ['pin_max_attempts']],
    [{ pin_lock_minutes: 0 }, ['pin_lock_minutes']],
    [{ pin_lock_minutes: 1440 }, []],
    [{ pin_lock_minutes: 1.5 }, ['pin_lock_minutes']],
    [{}, ['']],
  ])('settings %j: issues at %j', (settings, paths) => {
    expect(issuePaths(updateShopBody.safeParse({ shop_id: SHOP_ID, ...settings }))).toEqual(paths);
  });
});

describe('member bodies', () => {
  it('takes an email and one of the three roles', () => {
    expect(addMemberBody.parse({ shop_id: SHOP_ID, email: 'barista@cafe.kr', role: 'staff' })).toEqual({
      shop_id: SHOP_ID,
      email: 'barista@cafe.kr',
      role: 'staff',
    });
    expect(issuePaths(addMemberBody.safeParse({ shop_id: SHOP_ID, email: 'not-an-email', role: 'staff' }))).toEqual(['email']);
    expect(issuePaths(addMemberBody.safeParse({ shop_id: SHOP_ID, email: 'a@b.kr', role: 'admin' }))).toEqual(['role']);
    expect(issuePaths(updateMemberBody.safeParse({ shop_id: SHOP_ID, user_id: USER_ID, role: 'Owner' }))).toEqual(['role']);
    expect(issuePaths(removeMemberBody.safeParse({ shop_id: SHOP_ID, user_id: 'me' }))).toEqual(['user_id']);
  });

  it('reads the team list query strictly', () => {
    expect(shopQuery.parse({ shop_id: SHOP_ID })).toEqual({ shop_id: SHOP_ID });
    expect(issuePaths(shopQuery.safeParse({ shop_id: SHOP_ID, select: '*' }))).toEqual(['']);
  });
});
