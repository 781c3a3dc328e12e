import { randomInt } from 'node:crypto';
import type { Database } from '../../functions/_shared/database.types.ts';
import { db } from './clients.ts';

/** A customer as create_customer answers it: not erased, so its name and phone are there. */
export type CustomerRecord = Pick<Database['public']['Tables']['customers']['Row'], 'id' | 'shop_id' | 'current_balance'> & {
  name: string;
  phone: string;
};

/** A Korean mobile number in the normalised form; phones are unique per shop, and each test has its own. */
export function uniquePhone(): string {
  const digits = String(randomInt(0, 100_000_000)).padStart(8, '0');
  return `010-${digits.slice(0, 4)}-${digits.slice(4)}`;
}

/** The stored balance, read past every API layer. */
export async function balanceOf(customerId: string): Promise<number> {
  const { rows } = await db().query<{ current_balance: string }>(
    'select current_balance from public.customers where id = $1',
    [customerId],
  );
  return Number(rows[0]!.current_balance);
}

/** How many ledger rows the customer has, read past every API layer. */
export async function ledgerCount(customerId: string): Promise<number> {
  const { rows } = await db().query<{ count: string }>('select count(*) from public.transactions where customer_id = $1', [customerId]);
  return Number(rows[0].count);
}

/** The customer's balance in its two parts and the last ledger sequence, read past every API layer. */
export async function balanceParts(customerId: string): Promise<{ balance: number; paid: number; bonus: number; sequence: number }> {
  const { rows } = await db().query(
    `select current_balance::int as balance, paid_balance::int as paid, bonus_balance::int as bonus,
            ledger_sequence::int as sequence
     from public.customers where id = $1`,
    [customerId],
  );
  return rows[0];
}
