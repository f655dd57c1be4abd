// `npm run specs:crds`: regenerates specs/stork-crds.yaml from src/k8s/crds.
import { writeFile } from 'node:fs/promises';
import { crdSpecPath, crdSpecText } from './crd-spec.js';

await writeFile(crdSpecPath, crdSpecText());
console.log(`wrote ${crdSpecPath.pathname}`);
