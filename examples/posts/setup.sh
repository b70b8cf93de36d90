#!/usr/bin/env bash
# One-time set-up for the posts example (examples/posts/main.rs): registers
# its two clients and two users in Tessera's database with the tessera CLI.
#
# Walkthrough, from the repository root:
#
#   cargo run --release -- serve     # terminal 1: Tessera on 127.0.0.1:8080
#   examples/posts/setup.sh          # once; prints passwords and a secret
#   export POSTS_API_SECRET=...      # terminal 2: the line printed below
#   cargo run --example posts        # then open http://127.0.0.1:8081/
#
# It honours TESSERA_DATABASE (and the other TESSERA_* variables) like the
# server does, so point both at the same database. Not idempotent: a second
# run fails because the clients already exist; start from a fresh database
# (or `tessera client remove` / a new TESSERA_DATABASE) to run it again.
#
#   posts-spa   public client (the SPA): code + PKCE, refresh tokens, the
#               scopes "openid profile posts:write", DPoP-bound tokens only
#   posts-api   confidential client (the API): reads the revocation feed
#   alice       a user; may delete her own posts
#   mod         a user with the role "moderator"; may delete anyone's
set -euo pipefail

cd "$(dirname "$0")/../.."

tessera() {
  cargo run --release --quiet -- "$@"
}

# A random password that never appears on a command line (so not in `ps`).
password() {
  head -c 18 /dev/urandom | base64 | tr '+/' '-_'
}

tessera client add posts-spa --public --name "Posts" \
  --redirect-uri http://127.0.0.1:8081/ \
  --post-logout-redirect-uri http://127.0.0.1:8081/ \
  --scopes "openid profile posts:write" --dpop

api_output="$(tessera client add posts-api --grant-types client_credentials --scopes "posts:read")"
api_secret="$(printf '%s\n' "$api_output" | sed -n 's/^client_secret: //p')"
if [ -z "$api_secret" ]; then
  echo "setup.sh: no client_secret in the output of 'client add posts-api':" >&2
  printf '%s\n' "$api_output" >&2
  exit 1
fi
echo "registered confidential client posts-api"

alice_password="$(password)"
mod_password="$(password)"
printf '%s\n' "$alice_password" | tessera user add alice --password-stdin
printf '%s\n' "$mod_password" | tessera user add mod --password-stdin --role moderator

cat <<EOF

Done. Sign in to the posts app as:
  alice  password: $alice_password
  mod    password: $mod_password   (role: moderator)

Before 'cargo run --example posts', run in the same terminal:
  export POSTS_API_SECRET=$api_secret
EOF
