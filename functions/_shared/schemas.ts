import { z } from 'zod';
import { REFUND_METHODS } from './money.ts';

// The same ceilings the SQL enforces (transactions.amount check, customers.name check); they are
// repeated here only so that a bad request is refused with a precise zod issue before any round trip.
export const MAX_TRANSACTION_AMOUNT = 10_000_000;
export const MAX_NAME_LENGTH = 100;
export const MAX_NOTE_LENGTH = 500;

const uuid = z.uuid({ message: 'must be a UUID' });

// `z.number().int()` already refuses NaN, Infinity, fractions and unsafe integers; strings and
// booleans are refused by type. Exponent spellings (1e3) become 1000 inside JSON.parse and are
// refused on the raw text instead (see request.ts).
export const amount = z
  .number({ message: 'must be a whole number of KRW' })
  .int({ message: 'must be a whole number of KRW' })
  .positive({ message: 'must be at least 1' })
  .max(MAX_TRANSACTION_AMOUNT, { message: `must be at most ${MAX_TRANSACTION_AMOUNT}` });

export const pin = z.string().regex(/^[0-9]{4,6}$/, { message: 'must be 4 to 6 digits' });

// Separators people type between the groups of a Korean mobile number.
const PHONE_SEPARATORS = /[\s\-.()]/g;

// 01012345678, 010-1234-5678, 010 1234 5678, 010.1234.5678, +82 10-1234-5678, +82 (0)10 1234 5678,
// 82-10-1234-5678 all name the same phone; the database stores one spelling so that uniqueness
// per shop and lookups at the kiosk hold whatever the caller typed.
export function normalizeKoreanMobile(raw: string): string | null {
  let digits = raw.trim().replace(PHONE_SEPARATORS, '');
  if (digits.startsWith('+82')) digits = digits.slice(3);
  else if (digits.startsWith('0082')) digits = digits.slice(4);
  else if (/^8210[0-9]{8}$/.test(digits)) digits = digits.slice(2);
  if (!digits.startsWith('0')) digits = `0${digits}`;
  const match = /^010([0-9]{4})([0-9]{4})$/.exec(digits);
  return match ? `010-${match[1]}-${match[2]}` : null;
}

export const phone = z
  .string()
  .max(40, { message: 'is too long for a phone number' })
  .transform((raw, ctx) => {
    const normalized = normalizeKoreanMobile(raw);
    if (normalized === null) {
      // The contract's own code for it, as SQL's check_phone raises it: see contractIssue().
      ctx.addIssue({
        code: 'custom',
        message: 'must be a Korean mobile number such as 010-1234-5678',
        params: { contract_code: 'invalid_phone', details: { phone: raw } },
      });
      return z.NEVER;
    }
    return normalized;
  });

// Control characters have no place in a name printed on a receipt or a kiosk screen, and a lone UTF-16
// surrogate (valid in a JSON string) is refused by PostgreSQL's text and jsonb input.
const NO_CONTROL_CHARACTERS = /^[^\p{Cc}\p{Cs}]*$/u;

export const displayName = z
  .string()
  .trim()
  .min(1, { message: 'must not be empty' })
  .max(MAX_NAME_LENGTH, { message: `must be at most ${MAX_NAME_LENGTH} characters` })
  .regex(NO_CONTROL_CHARACTERS, { message: 'must not contain control characters' });

const note = z
  .string()
  .trim()
  .max(MAX_NOTE_LENGTH, { message: `must be at most ${MAX_NOTE_LENGTH} characters` })
  // A memo may span lines; other control characters are refused as in names.
  .regex(/^(?:[^\p{Cc}\p{Cs}]|[\n\t])*$/u, { message: 'must not contain control characters' });

export const createCustomerBody = z.strictObject({
  shop_id: uuid,
  name: displayName,
  phone,
  pin: pin.optional(),
});

// The shop of the customer or transaction a body names: optional (the functions find it from the id),
// and when sent, the call is routed by it and an id of another shop is not found (docs/contract.md).
const routingShop = uuid.optional();

export const updateCustomerBody = z
  .strictObject({
    customer_id: uuid,
    shop_id: routingShop,
    name: displayName.optional(),
    phone: phone.optional(),
  })
  .refine((body) => body.name !== undefined || body.phone !== undefined, {
    message: 'give a new name, a new phone, or both',
  });

export const moneyBody = z.strictObject({
  customer_id: uuid,
  shop_id: routingShop,
  amount,
  memo: note.optional(),
});

// Without an amount, a cancel is whole (a deduct's whole remainder); with one, a deduct is cancelled
// in part. A charge is always cancelled whole (SQL refuses another amount).
export const cancelBody = z.strictObject({
  transaction_id: uuid,
  shop_id: routingShop,
  reason: note.optional(),
  amount: amount.optional(),
});

const instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone' });

// A promotion's bonus is a fixed amount or a percent of the charge, never both.
export const createPromotionBody = z
  .strictObject({
    shop_id: uuid,
    min_charge: amount,
    bonus_amount: amount.optional(),
    bonus_percent: z
      .number({ message: 'must be a whole percent' })
      .int({ message: 'must be a whole percent' })
      .min(1, { message: 'must be at least 1' })
      .max(100, { message: 'must be at most 100' })
      .optional(),
    starts_at: instant.optional(),
    ends_at: instant.optional(),
  })
  .refine((body) => (body.bonus_amount === undefined) !== (body.bonus_percent === undefined), {
    message: 'give either bonus_amount or bonus_percent',
    path: ['bonus_amount'],
  })
  .refine((body) => body.ends_at === undefined || Date.parse(body.ends_at) > Date.parse(body.starts_at ?? new Date().toISOString()), {
    message: 'must be after starts_at (or now)',
    path: ['ends_at'],
  });

export const endPromotionBody = z.strictObject({ promotion_id: uuid });

export const refundBody = z.strictObject({
  customer_id: uuid,
  shop_id: routingShop,
  method: z.enum(REFUND_METHODS, { message: `must be one of ${REFUND_METHODS.join(', ')}` }),
  memo: note.optional(),
});

export const customerPinBody = z.strictObject({ customer_id: uuid, shop_id: routingShop, pin });

export const customerBody = z.strictObject({ customer_id: uuid, shop_id: routingShop });

export const kioskPayBody = z.strictObject({ phone, pin, amount });

export const kioskBalanceBody = z.strictObject({ phone, pin });

export const registerKioskBody = z.strictObject({ shop_id: uuid, name: displayName });

export const deactivateKioskBody = z.strictObject({ kiosk_id: uuid });

// The same bounds as update_shop and the shops table's checks.
export const MAX_BALANCE_CEILING = 1_000_000_000;

export const createShopBody = z.strictObject({ name: displayName });

const wholeNumber = (min: number, max: number) =>
  z.number().int({ message: 'must be a whole number' }).min(min, { message: `must be at least ${min}` }).max(max, {
    message: `must be at most ${max}`,
  });

export const updateShopBody = z
  .strictObject({
    shop_id: uuid,
    name: displayName.optional(),
    max_balance: wholeNumber(1, MAX_BALANCE_CEILING).optional(),
    pin_max_attempts: wholeNumber(1, 20).optional(),
    pin_lock_minutes: wholeNumber(1, 1440).optional(),
    spend_bonus_first: z.boolean().optional(),
    refund_fee_percent: wholeNumber(0, 10).optional(),
    allow_refunds_outside_right: z.boolean().optional(),
  })
  .refine((body) => Object.keys(body).length > 1, { message: 'give at least one setting to change' });

export const memberRole = z.enum(['owner', 'manager', 'staff'], { message: 'must be owner, manager or staff' });

export const addMemberBody = z.strictObject({
  shop_id: uuid,
  email: z.email({ message: 'must be an email address' }).max(255, { message: 'is too long for an email address' }),
  role: memberRole,
});

export const updateMemberBody = z.strictObject({ shop_id: uuid, user_id: uuid, role: memberRole });

export const removeMemberBody = z.strictObject({ shop_id: uuid, user_id: uuid });

export const shopQuery = z.strictObject({ shop_id: uuid });

// Header credentials: visible ASCII only, and bounded so that garbage never reaches the database.
const headerToken = z.string().regex(/^[\x21-\x7e]{1,200}$/);

// The key is stored and compared as text in SQL, and a retrying client must be able to send back
// exactly the bytes it sent the first time.
export const idempotencyKey = headerToken;

// A device key is opaque to the function: SQL hashes it and looks it up.
export const kioskKey = headerToken;
