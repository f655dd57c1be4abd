// `npm run image:build`: builds (or finds cached) the stork image from the Dockerfile with buildah, on a
// base image of its own (debootstrap + the official Node.js), and prints its name and size.
import { ensureStorkImage } from '../image/stork-image.js';

const image = await ensureStorkImage({ log: (line) => console.error(line) });
console.log(JSON.stringify(image, null, 2));
