// Vite build of the admin console into apps/admin/dist, which the gateway serves at /admin/.
// Asset URLs are relative (base './') and pages are hash routes (#/users), so the same build works
// at /admin/ behind the gateway and at / in the browser test's server. In development
// (`npm run dev -w @streambet/admin`) the API is proxied to STREAMBET_GATEWAY_URL.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const gateway = process.env.STREAMBET_GATEWAY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  server: {
    port: 5174,
    proxy: { '^/streambet\\.': { target: gateway, changeOrigin: true } },
  },
});
