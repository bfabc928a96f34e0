/** The click consumer (the microservice's strategy), for readiness. */
export const CLICK_CONSUMER = Symbol('CLICK_CONSUMER');

export interface ClickConsumer {
  /** The connection to the broker is up. */
  readonly connected: boolean;
}
