// The money result of docs/contract.md, typed once from the generated ledger row: what every money
// RPC returns (charge_balance, deduct_balance, cancel_transaction, refund_balance, kiosk_pay), what
// the edge functions answer (the same without `replayed`), and what the tests, the chaos drill, k6
// and the bench read. Types only, plus the movement types; nothing Deno- or Node-specific.

import type { Database } from './database.types.ts';

type LedgerRow = Database['public']['Tables']['transactions']['Row'];

/** transactions.type's check constraint. */
export const MOVEMENT_TYPES = ['charge', 'bonus', 'deduct', 'charge_cancel', 'deduct_cancel', 'refund'] as const;
export type MovementType = (typeof MOVEMENT_TYPES)[number];

/** transactions.refund_method's check constraint. */
export const REFUND_METHODS = ['cash', 'card_cancel', 'transfer'] as const;
export type RefundMethod = (typeof REFUND_METHODS)[number];

/** The ledger row in a money result; its generated columns (paid_*) are always there. */
export interface MoneyTransaction
  extends Pick<
    LedgerRow,
    'id' | 'amount' | 'bonus_amount' | 'balance_after' | 'bonus_balance_after' | 'sequence' | 'created_at' | 'customer_id' | 'original_transaction_id'
  > {
  type: MovementType;
  paid_amount: number;
  paid_balance_after: number;
}

export interface RefundPayout {
  method: RefundMethod;
  paid_amount: number;
  bonus_forfeited: number;
  fee: number;
  payout: number;
  rule: LedgerRow['refund_rule'];
}

export interface MoneyResult {
  transaction: MoneyTransaction;
  /** The balance right after the movement; on a charge it includes the promotion's bonus. */
  balance: number;
  paid_balance: number;
  bonus_balance: number;
  /** A replay of the same idempotency key: the original's result, nothing changed. */
  replayed: boolean;
  /** A charge's promotion bonus (0 without one), its promotion and its bonus row. */
  bonus?: number;
  promotion_id?: string | null;
  bonus_transaction_id?: string | null;
  refund?: RefundPayout;
}

/** What the edge functions answer: the result without `replayed` (the header `Idempotent-Replayed` says it). */
export type MoneyAnswer = Omit<MoneyResult, 'replayed'>;
