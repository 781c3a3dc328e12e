// The owner's kiosk management moved to `shop-kiosks` (one letter from the device's `kiosk/…` was too
// close). This old name answers 308 Permanent Redirect to the new path, which keeps the method and the
// body, so a client that follows redirects (fetch, supabase-js) still works, and every answer names the
// new route for the ones that do not. Preflights answer as before, since a browser never follows a
// redirected preflight.
import { createRouter, type Handler } from '../_shared/router.ts';

const movedTo =
  (subPath: string): Handler =>
  async (request) => {
    const target = `shop-kiosks${subPath}`;
    // Relative to the request, so that it holds under /functions/v1/ here and wherever a project serves
    // the function: up one level for each folder the request's path has below the one holding `kiosks`.
    const pathname = new URL(request.url).pathname;
    const below = pathname.slice(pathname.lastIndexOf('/kiosks') + '/kiosks'.length).split('/').length - 1;
    return {
      status: 308,
      headers: { Location: `${'../'.repeat(below)}${target}` },
      body: { moved_to: `/functions/v1/${target}`, message: `/functions/v1/kiosks${subPath} is now /functions/v1/${target}.` },
    };
  };

Deno.serve(
  createRouter('kiosks', {
    '': { POST: movedTo('') },
    deactivate: { POST: movedTo('/deactivate') },
  }),
);
