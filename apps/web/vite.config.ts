// Vite build of the viewer app into apps/web/dist, which the gateway serves (SPA fallback).
// In development (`npm run dev -w @streambet/web`) the API and the socket are proxied to the
// gateway at STREAMBET_GATEWAY_URL (default http://127.0.0.1:8080).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const gateway = process.env.STREAMBET_GATEWAY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  server: {
    proxy: {
      '^/streambet\\.': { target: gateway, changeOrigin: true },
      '/socket.io': { target: gateway, ws: true, changeOrigin: true },
    },
  },
});
