import { dirname } from 'node:path';
import express, { type Router } from 'express';

// The interactive API reference: Swagger UI from the locally installed swagger-ui-dist package, so the page works
// offline (no CDN), pointed at the proxy's own OpenAPI document.

const INDEX_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Bundlegate model proxy API</title>
    <link rel="stylesheet" type="text/css" href="./swagger-ui.css" />
    <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="./swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="./swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="./initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

function initializer(specUrl: string): string {
  // validatorUrl null: the default badge would call an online validator
  return `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(specUrl)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;
}

/** Directory of the installed swagger-ui-dist assets. */
export function swaggerUiDir(): string {
  return dirname(require.resolve('swagger-ui-dist/package.json'));
}

/** Router serving the reference page at `/` (mount it at e.g. /api/v1/docs); `specUrl` is relative to the page. */
export function apiReferenceRouter(specUrl: string): Router {
  const router = express.Router({ strict: true });
  const sendIndex = (_req: express.Request, res: express.Response): void => {
    res.type('html').set('cache-control', 'no-cache').send(INDEX_HTML);
  };
  router.get('/', sendIndex);
  router.get('/index.html', sendIndex);
  router.get('/initializer.js', (_req, res) => {
    res.type('application/javascript').set('cache-control', 'no-cache').send(initializer(specUrl));
  });
  router.use(express.static(swaggerUiDir(), { index: false, maxAge: '1h' }));
  return router;
}
