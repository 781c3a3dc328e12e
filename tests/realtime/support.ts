// What the live-screen suites share: a shop's counter screen as its frontend writes it with
// supabase-js (a private channel `shop:<shop_id>`, broadcast event `movement`), and the movements it
// has heard.
import type { RealtimeChannel, SupabaseClient } from '@supabase/supabase-js';
import type { Database } from '../../functions/_shared/database.types.ts';
import type { MoneyTransaction } from '../../functions/_shared/money.ts';

/** The payload private.broadcast_movement sends. */
export interface Movement {
  id: string;
  shop_id: string;
  /** The money result's ledger row, plus who acted and the memo. */
  transaction: MoneyTransaction & Pick<Database['public']['Tables']['transactions']['Row'], 'actor_user_id' | 'actor_kiosk_id' | 'memo'>;
  customer: { id: string; name: string; balance: number; paid_balance: number; bonus_balance: number };
}

export interface Heard {
  event: string;
  payload: Movement;
  meta?: { id: string };
}

export interface Screen {
  channel: RealtimeChannel;
  /** The first answer to the join: SUBSCRIBED, or CHANNEL_ERROR with the server's reason. */
  status: string;
  error?: Error;
  heard: Heard[];
  /** Every status the channel went through, in order (a shutdown shows as CLOSED). */
  statuses: string[];
  /** `system` messages, as Realtime sends when it shuts a channel down. */
  system: { status: string; message: string; extension: string }[];
  /** Resolves when `count` movements were heard; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<Heard[]>;
  /** Resolves when the predicate holds; rejects after `timeoutMs`. */
  until(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function until(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Opens the counter screen of a shop: the code a frontend developer writes, nothing more. */
export async function openScreen(
  client: SupabaseClient<Database>,
  shopId: string,
  options: { private?: boolean; ack?: boolean } = {},
): Promise<Screen> {
  const heard: Heard[] = [];
  const statuses: string[] = [];
  const system: Screen['system'] = [];
  const channel = client
    .channel(`shop:${shopId}`, {
      config: { private: options.private ?? true, broadcast: { ack: options.ack ?? false, self: false } },
    })
    .on('broadcast', { event: 'movement' }, (message) => heard.push(message as unknown as Heard))
    .on('system', {}, (message) => system.push(message));
  const first = await new Promise<{ status: string; error?: Error }>((resolve) => {
    channel.subscribe((status, error) => {
      statuses.push(status);
      resolve({ status, error });
    });
  });
  const screen: Screen = {
    channel,
    ...first,
    heard,
    statuses,
    system,
    async waitFor(count, timeoutMs = 5_000) {
      await until(() => heard.length >= count, `${count} movements (heard ${heard.length})`, timeoutMs);
      return heard;
    },
    until: (predicate, what, timeoutMs) => until(predicate, what, timeoutMs),
    async close() {
      await client.removeChannel(channel);
    },
  };
  return screen;
}
