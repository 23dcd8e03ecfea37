#!/usr/bin/env bash
# Restore a dump made by backup.sh into a new, empty database, in one transaction (all or
# nothing), then print its migration revision. It refuses a database that has tables.
#
#   createdb -O wecom_bot wecom_bot_restored
#   docs/deploy/backup/restore.sh /var/backups/wecom-bot/wecom-bot-20261130T031500Z.dump \
#       postgresql://wecom_bot@127.0.0.1/wecom_bot_restored
#
# Then point DATABASE_URL at it (or rename the databases) and run python main.py doctor.
set -euo pipefail

dump="${1:?usage: restore.sh DUMP TARGET_DATABASE_URL}"
target="${2:?usage: restore.sh DUMP TARGET_DATABASE_URL}"
target="$(printf '%s' "$target" | sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#')"

# Keep a password out of the process list: libpq reads it from PGPASSWORD.
if [[ "$target" =~ ^postgresql://([^:@/]+):([^@/]*)@(.*)$ ]]; then
  pass="${BASH_REMATCH[2]}"
  PGPASSWORD="$(printf '%b' "${pass//%/\\x}")"
  export PGPASSWORD
  target="postgresql://${BASH_REMATCH[1]}@${BASH_REMATCH[3]}"
fi

[ -r "$dump" ] || { echo "restore.sh: cannot read $dump" >&2; exit 2; }
tables="$(psql "$target" -XAtqc "select count(*) from pg_tables where schemaname = 'public'")"
if [ "$tables" != "0" ]; then
  echo "restore.sh: the target database already has $tables tables; restore into a new, empty one (createdb)" >&2
  exit 2
fi
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$target" "$dump"
psql "$target" -XAtqc "select 'restored; migration revision ' || string_agg(version_num, ', ' order by version_num) from alembic_version"
