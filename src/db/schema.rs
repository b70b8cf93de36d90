// @generated automatically by Diesel CLI.

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        name -> Text,
        secret_hash -> Nullable<Binary>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        private_key_der -> Binary,
        created_at -> BigInt,
        activates_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        subject -> Text,
        username -> Text,
        password_hash -> Text,
        email -> Nullable<Text>,
        name -> Nullable<Text>,
        is_admin -> Bool,
        disabled -> Bool,
        created_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(clients, signing_keys, users,);
