export { codeEnd, REDIRECT_ROUTE, RedirectHandler, Unresolved } from './redirect.handler';
export type { RedirectAnswer } from './redirect.response';
export { serveRedirect } from './redirect.serve';
