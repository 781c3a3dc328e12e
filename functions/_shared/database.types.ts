export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[]

export type Database = {
  
  "public": {
          Tables: {
            "customers": {
                  Row: {
                    "bonus_balance": number,"closed_at": string | null,"created_at": string,"current_balance": number,"erased_at": string | null,"id": string,"ledger_sequence": number,"name": string | null,"paid_balance": number | null,"phone": string | null,"phone_last4": string | null,"shop_id": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "bonus_balance"?: number,"closed_at"?: string | null,"created_at"?: string,"current_balance"?: number,"erased_at"?: string | null,"id"?: string,"ledger_sequence"?: number,"name"?: string | null,"paid_balance"?: never,"phone"?: string | null,"phone_last4"?: never,"shop_id": string,"updated_at"?: string
                  }
                  Update: {
                    "bonus_balance"?: number,"closed_at"?: string | null,"created_at"?: string,"current_balance"?: number,"erased_at"?: string | null,"id"?: string,"ledger_sequence"?: number,"name"?: string | null,"paid_balance"?: never,"phone"?: string | null,"phone_last4"?: never,"shop_id"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "customers_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shop_outstanding_balances"
      referencedColumns: ["shop_id"]
    },{
      foreignKeyName: "customers_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"kiosks": {
                  Row: {
                    "active": boolean,"created_at": string,"id": string,"last_seen_at": string | null,"name": string,"shop_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "active"?: boolean,"created_at"?: string,"id"?: string,"last_seen_at"?: string | null,"name": string,"shop_id": string
                  }
                  Update: {
                    "active"?: boolean,"created_at"?: string,"id"?: string,"last_seen_at"?: string | null,"name"?: string,"shop_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "kiosks_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shop_outstanding_balances"
      referencedColumns: ["shop_id"]
    },{
      foreignKeyName: "kiosks_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"promotions": {
                  Row: {
                    "bonus_amount": number | null,"bonus_percent": number | null,"created_at": string,"ends_at": string | null,"id": string,"min_charge": number,"shop_id": string,"starts_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "bonus_amount"?: number | null,"bonus_percent"?: number | null,"created_at"?: string,"ends_at"?: string | null,"id"?: string,"min_charge": number,"shop_id": string,"starts_at"?: string
                  }
                  Update: {
                    "bonus_amount"?: number | null,"bonus_percent"?: number | null,"created_at"?: string,"ends_at"?: string | null,"id"?: string,"min_charge"?: number,"shop_id"?: string,"starts_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "promotions_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shop_outstanding_balances"
      referencedColumns: ["shop_id"]
    },{
      foreignKeyName: "promotions_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"shop_members": {
                  Row: {
                    "created_at": string,"role": string,"shop_id": string,"user_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"role": string,"shop_id": string,"user_id": string
                  }
                  Update: {
                    "created_at"?: string,"role"?: string,"shop_id"?: string,"user_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "shop_members_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shop_outstanding_balances"
      referencedColumns: ["shop_id"]
    },{
      foreignKeyName: "shop_members_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"shops": {
                  Row: {
                    "allow_refunds_outside_right": boolean,"created_at": string,"id": string,"max_balance": number,"name": string,"pin_lock_minutes": number,"pin_max_attempts": number,"refund_fee_percent": number,"spend_bonus_first": boolean
                  }
                  ComputedFields: never
                  Insert: {
                    "allow_refunds_outside_right"?: boolean,"created_at"?: string,"id"?: string,"max_balance"?: number,"name": string,"pin_lock_minutes"?: number,"pin_max_attempts"?: number,"refund_fee_percent"?: number,"spend_bonus_first"?: boolean
                  }
                  Update: {
                    "allow_refunds_outside_right"?: boolean,"created_at"?: string,"id"?: string,"max_balance"?: number,"name"?: string,"pin_lock_minutes"?: number,"pin_max_attempts"?: number,"refund_fee_percent"?: number,"spend_bonus_first"?: boolean
                  }
                  Relationships: [
                    
                  ]
                },"transactions": {
                  Row: {
                    "actor_kiosk_id": string | null,"actor_user_id": string | null,"amount": number,"balance_after": number,"bonus_amount": number,"bonus_balance_after": number,"created_at": string,"customer_id": string,"id": string,"idempotency_key": string | null,"memo": string | null,"original_transaction_id": string | null,"paid_amount": number | null,"paid_balance_after": number | null,"promotion_id": string | null,"refund_fee": number | null,"refund_method": string | null,"refund_rule": string | null,"sequence": number,"shop_id": string,"type": string
                  }
                  ComputedFields: never
                  Insert: {
                    "actor_kiosk_id"?: string | null,"actor_user_id"?: string | null,"amount": number,"balance_after": number,"bonus_amount"?: number,"bonus_balance_after"?: number,"created_at"?: string,"customer_id": string,"id"?: string,"idempotency_key"?: string | null,"memo"?: string | null,"original_transaction_id"?: string | null,"paid_amount"?: never,"paid_balance_after"?: never,"promotion_id"?: string | null,"refund_fee"?: number | null,"refund_method"?: string | null,"refund_rule"?: string | null,"sequence": number,"shop_id": string,"type": string
                  }
                  Update: {
                    "actor_kiosk_id"?: string | null,"actor_user_id"?: string | null,"amount"?: number,"balance_after"?: number,"bonus_amount"?: number,"bonus_balance_after"?: number,"created_at"?: string,"customer_id"?: string,"id"?: string,"idempotency_key"?: string | null,"memo"?: string | null,"original_transaction_id"?: string | null,"paid_amount"?: never,"paid_balance_after"?: never,"promotion_id"?: string | null,"refund_fee"?: number | null,"refund_method"?: string | null,"refund_rule"?: string | null,"sequence"?: number,"shop_id"?: string,"type"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "transactions_actor_kiosk_fkey"
      columns: ["actor_kiosk_id","shop_id"]
isOneToOne: false
      referencedRelation: "kiosks"
      referencedColumns: ["id","shop_id"]
    },{
      foreignKeyName: "transactions_customer_fkey"
      columns: ["customer_id","shop_id"]
isOneToOne: false
      referencedRelation: "customers"
      referencedColumns: ["id","shop_id"]
    },{
      foreignKeyName: "transactions_original_transaction_fkey"
      columns: ["original_transaction_id","shop_id"]
isOneToOne: false
      referencedRelation: "transactions"
      referencedColumns: ["id","shop_id"]
    },{
      foreignKeyName: "transactions_promotion_fkey"
      columns: ["promotion_id","shop_id"]
isOneToOne: false
      referencedRelation: "promotions"
      referencedColumns: ["id","shop_id"]
    },{
      foreignKeyName: "transactions_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shop_outstanding_balances"
      referencedColumns: ["shop_id"]
    },{
      foreignKeyName: "transactions_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                }
          }
          Views: {
            "shop_daily_summaries": {
                  Row: {
                    "bonus_forfeited": number | null,"bonus_granted": number | null,"charged": number | null,"day": string | null,"deducted": number | null,"outstanding_balance": number | null,"outstanding_bonus_balance": number | null,"outstanding_paid_balance": number | null,"refund_fees": number | null,"refunds_paid": number | null,"reversed": number | null,"shop_id": string,"transaction_count": number | null
                  }
                  ComputedFields: never
                  Relationships: [
                    {
      foreignKeyName: "transactions_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shop_outstanding_balances"
      referencedColumns: ["shop_id"]
    },{
      foreignKeyName: "transactions_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"shop_outstanding_balances": {
                  Row: {
                    "customer_count": number | null,"outstanding_balance": number | null,"outstanding_bonus_balance": number | null,"outstanding_paid_balance": number | null,"shop_id": string
                  }
                  ComputedFields: never
                  Relationships: [
                    
                  ]
                }
          }
          Functions: {
            "add_shop_member":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_email": string,"p_role": string,"p_shop_id": string }; Returns: Json
                           },
"cancel_transaction":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_amount"?: number,"p_idempotency_key": string,"p_reason"?: string,"p_shop_id"?: string,"p_transaction_id": string }; Returns: Json
                           },
"charge_balance":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_amount": number,"p_customer_id": string,"p_idempotency_key": string,"p_memo"?: string,"p_shop_id"?: string }; Returns: Json
                           },
"close_customer":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_customer_id": string,"p_shop_id"?: string }; Returns: Json
                           },
"create_customer":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_name": string,"p_phone": string,"p_pin"?: string,"p_shop_id": string }; Returns: Json
                           },
"create_promotion":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_bonus_amount"?: number,"p_bonus_percent"?: number,"p_ends_at"?: string,"p_min_charge": number,"p_shop_id": string,"p_starts_at"?: string }; Returns: Json
                           },
"create_shop":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_name": string }; Returns: Json
                           },
"customer_statement":
{ Args: { "p_customer_id": string,"p_from"?: string,"p_shop_id"?: string,"p_to"?: string }; Returns: Json
                           },
"deactivate_kiosk":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_kiosk_id": string }; Returns: Json
                           },
"deduct_balance":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_amount": number,"p_customer_id": string,"p_idempotency_key": string,"p_memo"?: string,"p_shop_id"?: string }; Returns: Json
                           },
"end_promotion":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_promotion_id": string }; Returns: Json
                           },
"erase_customer":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_customer_id": string,"p_shop_id"?: string }; Returns: Json
                           },
"kiosk_balance":
{ Args: { "p_kiosk_key": string,"p_phone": string,"p_pin": string }; Returns: Json
                           },
"kiosk_pay":
{ Args: { "p_amount": number,"p_idempotency_key": string,"p_kiosk_key": string,"p_phone": string,"p_pin": string }; Returns: Json
                           },
"list_shop_members":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_shop_id": string }; Returns: Json
                           },
"quote_refund":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_customer_id": string,"p_shop_id"?: string }; Returns: Json
                           },
"reconcile_balances":
{ Args: Record<PropertyKey, never>; Returns: {
              "bonus_balance": number,"current_balance": number,"customer_id": string,"ledger_balance": number,"ledger_bonus_balance": number,"ledger_paid_balance": number,"ledger_rows": number,"ledger_sequence": number,"paid_balance": number,"shop_id": string
            }[]
                           },
"refund_balance":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_customer_id": string,"p_idempotency_key": string,"p_memo"?: string,"p_method": string,"p_shop_id"?: string }; Returns: Json
                           },
"register_kiosk":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_name": string,"p_shop_id": string }; Returns: Json
                           },
"remove_shop_member":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_shop_id": string,"p_user_id": string }; Returns: Json
                           },
"set_pin":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_customer_id": string,"p_pin": string,"p_shop_id"?: string }; Returns: Json
                           },
"unlock_pin":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_customer_id": string,"p_shop_id"?: string }; Returns: Json
                           },
"update_customer":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_customer_id": string,"p_name"?: string,"p_phone"?: string,"p_shop_id"?: string }; Returns: Json
                           },
"update_shop":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_allow_refunds_outside_right"?: boolean,"p_max_balance"?: number,"p_name"?: string,"p_pin_lock_minutes"?: number,"p_pin_max_attempts"?: number,"p_refund_fee_percent"?: number,"p_shop_id": string,"p_spend_bonus_first"?: boolean }; Returns: Json
                           },
"update_shop_member":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id": string,"p_role": string,"p_shop_id": string,"p_user_id": string }; Returns: Json
                           },
"verify_pin_atomic":
{ Args: { "p_actor_session_id"?: string,"p_actor_user_id"?: string,"p_customer_id": string,"p_kiosk_key"?: string,"p_pin": string,"p_shop_id"?: string }; Returns: Json
                           }
          }
          Enums: {
            [_ in never]: never
          }
          CompositeTypes: {
            [_ in never]: never
          }
        }
}

type DatabaseWithoutInternals = Omit<Database, '__InternalSupabase'>

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
  ? (DefaultSchema["Tables"] & DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R
    }
    ? R
    : never
  : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I
    }
    ? I
    : never
  : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U
    }
    ? U
    : never
  : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never
> = DefaultSchemaEnumNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
  ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never
> = PublicCompositeTypeNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
  ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never

export const Constants = {
  "public": {
          Enums: {
            
          }
        }
} as const
