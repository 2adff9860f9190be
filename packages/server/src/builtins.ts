import { registerDriver, registerIdGenerator, registerSerializer } from './registry.js';
import { createFileDriver } from './drivers/file.js';
import { createMemoryDriver } from './drivers/memory.js';
import { createRedisDriver } from './drivers/redis.js';
import { createSqliteDriver } from './drivers/sqlite.js';
import { createPostgresqlDriver } from './drivers/postgresql.js';
import { createMysqlDriver } from './drivers/mysql.js';
import { jsonSerializer } from './serializers/json.js';
import { superjsonSerializer } from './serializers/superjson.js';
import { yamlSerializer } from './serializers/yaml.js';
import { storableAlias, v8Serializer } from './serializers/v8.js';
import { dumperSerializer } from './serializers/dumper.js';
import { md5IdGenerator } from './ids/md5.js';
import { uuidIdGenerator } from './ids/uuid.js';
import { incrIdGenerator } from './ids/incr.js';
import { staticIdGenerator } from './ids/static.js';

// The built-in plug-ins, registered once when the package is first imported.
registerDriver('file', createFileDriver);
registerDriver('memory', createMemoryDriver);
registerDriver('redis', createRedisDriver);
// The SQL drivers import their client (better-sqlite3, pg, mysql2) only when first used.
registerDriver('sqlite', createSqliteDriver);
registerDriver('postgresql', createPostgresqlDriver);
registerDriver('pg', createPostgresqlDriver);
registerDriver('mysql', createMysqlDriver);
registerDriver('mariadb', createMysqlDriver);
registerSerializer('default', jsonSerializer);
registerSerializer('json', jsonSerializer);
registerSerializer('superjson', superjsonSerializer);
registerSerializer('yaml', yamlSerializer);
registerSerializer('v8', v8Serializer);
// The old name of v8 (it is not Perl's Storable): still works, with a DeprecationWarning.
registerSerializer('storable', storableAlias);
// Perl CGI::Session's own default (Data::Dumper), for a store shared with a Perl app.
registerSerializer('dumper', dumperSerializer);
registerIdGenerator('md5', md5IdGenerator);
registerIdGenerator('uuid', uuidIdGenerator);
registerIdGenerator('incr', incrIdGenerator);
registerIdGenerator('static', staticIdGenerator);
