import type { RequestHandler } from 'express';
import { z } from 'zod';
import { defineRoute } from '../route.ts';

/** The page's scripts and styles are served from the installed swagger-ui-dist (src/api/operators.ts). */
const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>voicebot API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

/** GET /docs — the API reference, rendered by Swagger UI from /openapi.json (no CDN). */
const docsPage: RequestHandler = (_req, res) => {
  res.type('html').set('Cache-Control', 'no-cache').send(DOCS_PAGE);
};

export const route = defineRoute({
  operation: {
    method: 'get',
    path: '/docs',
    operationId: 'getApiReference',
    access: 'public',
    tags: ['operations'],
    summary: 'The API reference, rendered (Swagger UI)',
    responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
  },
  handlers: () => [docsPage],
});
