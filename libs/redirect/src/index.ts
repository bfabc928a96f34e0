export {
  codeEnd,
  REDIRECT_ROUTE,
  RedirectHandler,
  Unresolved,
  UNRESOLVED,
} from './redirect.handler';
export type { RedirectAnswer } from './redirect.response';
export { writeRedirectAnswer } from './redirect.response';
