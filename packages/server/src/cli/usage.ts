export const USAGE = `Usage: isosession <command> [options]

Housekeeping for isosession stores (what a cron job runs).

Commands:
  find               list stored sessions, all or those matching --expired / --older-than;
                     with --purge, remove them
  dump <id>          print one stored session; <id> may be the start of an id, as find
                     prints it ("9f86d081…")
  stats              count, bytes, oldest session, expired sessions

Store options (every command):
  --dsn DSN          the store, as the app's DSN (default driver:file;serializer:default;id:md5)
  --args JSON        the app's dsnArgs as JSON, e.g. '{"DataSource":"postgres://…","TableName":"sessions"}'
  --directory DIR    shorthand for the file driver's Directory (default: the driver's own,
                     <tmpdir>/isosession-<uid>, as the app uses without one)
  --plugin MODULE    import MODULE first (it registers your own drivers or serializers); repeatable
  --hash-ids         the app uses sessionParams.hashIds: ids shown are stored keys (SHA-256),
                     and dump takes the real id (or a stored key)
  --max-age DUR      the app's sessionParams.maxAge, so sessions past it count as expired
  --json             machine-readable output (find: one JSON object per line)
  --full-ids         print ids whole; by default they are shortened ("9f86d081…"), since a
                     stored id is a live cookie
  -h, --help         this text

find options:
  --expired          only sessions past their idle expiry (or --max-age)
  --older-than DUR   only sessions idle for at least DUR (last access DUR ago or earlier)
  --purge            remove the sessions found (each re-checked atomically before removal);
                     needs --expired or --older-than
  -q, --quiet        no line per session, only the summary; with --expired --purge on
                     sqlite, postgresql or mysql (no --max-age): one DELETE through the
                     index on expiry instead of loading every session

dump options:
  --show-private     print every param's value; by default values are "[private <type>]"
                     (and the client address too), only names, times and expiries shown
  --public A,B       print the values of these params (the ones your app shows the browser)

Everything printed has non-printable characters escaped (\x1B, \n, \u{202E}): a stored
name cannot drive your terminal or forge a line of the report.

Durations: seconds, or N followed by s m h d w M y (10d, 12h, 1M).

Exit codes: 0 done; 1 some sessions could not be read (listed on stderr), or dump found
no such session; 2 usage error (bad option, DSN, JSON or duration); 3 the store failed.

Examples:
  isosession find --directory /var/lib/app/sessions --expired --purge -q
  isosession find --dsn driver:postgresql --args '{"DataSource":"postgres://app@db/app"}' --older-than 30d --json
  isosession dump 9f86d081884c7d659a2feaa0c55ad015 --directory /var/lib/app/sessions
  isosession stats --dsn driver:redis --args '{"Url":"redis://127.0.0.1:6379"}'
`;
