#!/usr/bin/env bash
# Back up the bot's PostgreSQL database: one pg_dump (custom format, a consistent snapshot taken
# while the bot keeps running), checked to read back with pg_restore --list, then dumps older than
# KEEP_DAYS are removed. Prints the new file's path. Run by wecom-bot-backup.timer or by hand:
#
#   set -a; . /etc/wecom-bot/bot.env; set +a
#   BACKUP_DIR=/var/backups/wecom-bot docs/deploy/backup/backup.sh
#
# Copy BACKUP_DIR off the machine too (rsync, object storage): a backup on the same disk is not one.
set -euo pipefail

: "${DATABASE_URL:?set DATABASE_URL as in /etc/wecom-bot/bot.env}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/wecom-bot}"
KEEP_DAYS="${KEEP_DAYS:-14}"

# The bot accepts postgresql+psycopg://…; pg_dump wants the plain libpq URI.
url="$(printf '%s' "$DATABASE_URL" | sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#')"
case "$url" in
  postgresql://*) ;;
  *) echo "backup.sh: DATABASE_URL is not PostgreSQL (for SQLite, with the bot stopped: sqlite3 data/bot.db.spool '.backup FILE' first, then data/bot.db)" >&2
     exit 2 ;;
esac

# Keep a password out of the process list: libpq reads it from PGPASSWORD.
if [[ "$url" =~ ^postgresql://([^:@/]+):([^@/]*)@(.*)$ ]]; then
  pass="${BASH_REMATCH[2]}"
  PGPASSWORD="$(printf '%b' "${pass//%/\\x}")"
  export PGPASSWORD
  url="postgresql://${BASH_REMATCH[1]}@${BASH_REMATCH[3]}"
fi

mkdir -p "$BACKUP_DIR"
out="$BACKUP_DIR/wecom-bot-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --no-owner --no-privileges --file="$out.partial" "$url"
pg_restore --list "$out.partial" > /dev/null    # it reads back
mv "$out.partial" "$out"
find "$BACKUP_DIR" -maxdepth 1 -name 'wecom-bot-*.dump' -mtime +"$KEEP_DAYS" -delete
echo "$out"
