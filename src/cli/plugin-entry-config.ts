// Imported first by plugin-entry.ts, before any zod schema exists: a fallback process parses one
// config, so zod's JIT (it compiles a parser per object schema with `new Function`, which V8's code
// cache cannot keep) costs more than it saves. Validation and messages are the same either way.
import { z } from 'zod';

z.config({ jitless: true });
