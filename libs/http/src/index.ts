export { readiness } from './health';
export { HttpFront, requestIdOf } from './http-front';
export type { FrontHandler } from './http-front';
export { createHttpApp, httpFrontOf } from './http-server';
export { PROBLEM_CONTENT_TYPE, toProblem } from './problem';
export type { ProblemDocument } from './problem';
export { problemFor, sendProblem } from './problem.filter';
