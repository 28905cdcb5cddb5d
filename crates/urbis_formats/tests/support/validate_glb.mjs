// Runs the Khronos glTF-Validator (npm "gltf-validator") on .glb files and
// prints one JSON line per file: {file, errors, warnings, infos, messages}.
// Usage: node validate_glb.mjs DIR_WITH_NODE_MODULES FILE.glb...
// (tests/tiles3d_write.rs runs it; DIR is where `node_modules/gltf-validator` is.)
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';

const [modulesDir, ...files] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modulesDir), 'package.json'));
const validator = require('gltf-validator');
for (const f of files) {
  const r = await validator.validateBytes(new Uint8Array(fs.readFileSync(f)), { uri: f, maxIssues: 200 });
  console.log(JSON.stringify({
    file: f,
    version: validator.version(),
    errors: r.issues.numErrors,
    warnings: r.issues.numWarnings,
    infos: r.issues.numInfos,
    messages: r.issues.messages.map((m) => `${m.severity} ${m.code} ${m.pointer ?? ''}: ${m.message}`),
  }));
}
