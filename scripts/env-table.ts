// `npm run docs:env`: prints the README's environment-variable table, generated from the config
// specs every process loads (scripts/config-catalog.ts).
import { environmentTable } from './config-catalog.js';

process.stdout.write(`${environmentTable()}\n`);
