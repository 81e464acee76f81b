// `npm run docs:env`: prints the README's environment-variable table, generated from the config
// specs every process loads (gateway/src/config-catalog.ts).
import { environmentTable } from '../gateway/src/config-catalog.js';

process.stdout.write(`${environmentTable()}\n`);
