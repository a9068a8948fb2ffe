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
    /** spice-html5's own: one agent message, split into payloads that spend the agent's tokens. */
    /** Whether the guest's agent is connected (agent messages are dropped otherwise). */
    agent_connected?: boolean;
    /** spice-html5's own: VD_AGENT_MONITORS_CONFIG with one monitor of this size. */
    resize_window(flags: number, width: number, height: number, depth: number, x: number, y: number): void;
    send_agent_message(type: number, message: { buffer_size(): number; to_buffer(a: ArrayBuffer, at?: number): void }): void;
    /** Porthole's hooks (web/patches/spice-html5.ts): each AGENT_DATA payload first; the agent came or went; the client's capability bits. */
    porthole_agent_data?: (payload: ArrayBuffer) => boolean;
    porthole_agent_changed?: () => void;
    porthole_agent_caps?: number;
    /** Porthole's hook: the main channel opened a playback channel (the desktop has sound). */
    porthole_playback_opened?: () => void;
  }
  export function sendCtrlAltDel(sc: SpiceMainConn): void;
}
