// The part of spice-html5 (0.2.1, plain JavaScript) that Porthole uses.
declare module '@spice-project/spice-html5' {
  export interface SpiceMainConnOptions {
    uri: string;
    password: string;
    screen_id: string;
    message_id?: string;
    onerror?: (e: Error) => void;
    onsuccess?: () => void;
    onagent?: () => void;
  }
  export class SpiceMainConn {
    constructor(options: SpiceMainConnOptions);
    stop(): void;
    /** The inputs channel, once the main channel opened it; keys go out only while its state is "ready". */
    inputs?: { state: string };
  }
  export function sendCtrlAltDel(sc: SpiceMainConn): void;
}
