import journal from './meta/_journal.json';
import m0000 from './0000_init.sql';
import m0001 from './0001_lockout.sql';
import m0002 from './0002_events.sql';
import m0003 from './0003_webhooks.sql';
import m0004 from './0004_call_policy.sql';
import m0005 from './0005_nonce_uses.sql';
import m0006 from './0006_lockout_by_source.sql';
import m0007 from './0007_drop_auth_failures.sql';
import m0008 from './0008_imports.sql';
import m0009 from './0009_account_lockouts.sql';

  export default {
    journal,
    migrations: {
      m0000,
m0001,
m0002,
m0003,
m0004,
m0005,
m0006,
m0007,
m0008,
m0009
    }
  }
  