-- Realtime Authorization for the live screens: a signed-in user may join the private channel
-- `shop:<shop_id>` and receive its broadcasts exactly when they are a member of that shop. Realtime
-- checks this policy when a channel is joined (and again when the client sends a new access token):
-- as the user's role, with their JWT claims and realtime.topic() set to the channel's topic.
-- No insert policy: clients cannot broadcast into a shop's channel, only the database does.
-- The topic is compared as text with the member's shop ids (uuid's canonical lower-case spelling,
-- which is how broadcast_movement spells it), so a malformed topic is simply refused, never an error.
create policy "shop members can receive their shop's live movements"
  on realtime.messages for select to authenticated
  using (
    realtime.messages.extension = 'broadcast'
    and (select realtime.topic()) like 'shop:%'
    and substr((select realtime.topic()), 6) = any ((select private.member_shop_ids())::text[])
  );
