// The part of noVNC's RFB (1.7, plain JavaScript) that Porthole uses.
declare module '@novnc/novnc' {
  export default class RFB extends EventTarget {
    constructor(target: HTMLElement, url: string, options?: { shared?: boolean; credentials?: { password?: string } });
    scaleViewport: boolean;
    resizeSession: boolean;
    viewOnly: boolean;
    focusOnClick: boolean;
    background: string;
    disconnect(): void;
    sendCtrlAltDel(): void;
    /** Sends a key press (down true) or release, or both when `down` is omitted. */
    sendKey(keysym: number, code: string | null, down?: boolean): void;
    focus(): void;
    /** Puts text on the server's clipboard (the extended clipboard, UTF-8, where the server offers it). */
    clipboardPasteFrom(text: string): void;
  }
}
