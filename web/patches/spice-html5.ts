// Fixes carried for @spice-project/spice-html5 0.2.1 until upstream releases them, applied to its
// sources as they are bundled (see README.md beside this file for the bug and the evidence).
import type { SourcePatch } from './source-patch.js';

export const spiceHtml5Patches: SourcePatch[] = [
  {
    file: 'src/display.js',
    why:
      'JPEG images on a slow line: a DrawCopy JPEG read `streams[id]` while no video stream ' +
      "existed (`streams` undefined), threw in the image's onload and never drew it, so the " +
      'picture froze (upstream bugs.freedesktop.org #94776, SPICE/spice-html5 pull request #9)',
    find: '    if (this.o.sc.streams[this.o.id])\n        this.o.sc.streams[this.o.id].frames_loading--;',
    replace: '    if (this.o.sc.streams && this.o.sc.streams[this.o.id])\n        this.o.sc.streams[this.o.id].frames_loading--;',
  },
  {
    file: 'src/display.js',
    why: 'the same missing `streams` at the end of the JPEG onload',
    find: '    if (this.o.sc.streams[this.o.id] && "report" in this.o.sc.streams[this.o.id])',
    replace: '    if (this.o.sc.streams && this.o.sc.streams[this.o.id] && "report" in this.o.sc.streams[this.o.id])',
  },
  {
    file: 'src/display.js',
    why:
      'a JPEG decodes asynchronously while every other drawing is immediate, so a later scroll ' +
      'or fill could be painted over by an earlier JPEG, and a later draw from the image cache ' +
      'could miss an image still decoding: messages that arrive while a DrawCopy JPEG decodes ' +
      'are held, and drawn in order once it has (or once it failed to decode)',
    find: '                img.onload = handle_draw_jpeg_onload;\n                img.src = tmpstr;\n',
    replace:
      '                img.onload = handle_held_jpeg_onload;\n                img.onerror = handle_held_jpeg_onerror;\n' +
      '                img.src = tmpstr;\n                this.held_messages = this.held_messages || [];\n',
    count: 2, // JPEG and JPEG with alpha
  },
  {
    file: 'src/display.js',
    why: "the holding itself: the display channel's handler queues while an image decodes",
    find: 'SpiceDisplayConn.prototype.process_channel_message = function(msg)\n{\n',
    replace: [
      'SpiceDisplayConn.prototype.process_channel_message = function(msg)',
      '{',
      '    if (this.held_messages)',
      '    {',
      '        this.held_messages.push(msg);',
      '        return true;',
      '    }',
      '    return this.process_display_message(msg);',
      '}',
      '',
      '/* Draws the messages held while a JPEG decoded, in order, until one of them holds again. */',
      'SpiceDisplayConn.prototype.release_held_messages = function()',
      '{',
      '    var held = this.held_messages || [];',
      '    this.held_messages = undefined;',
      '    while (held.length > 0 && ! this.held_messages)',
      '    {',
      '        var msg = held.shift();',
      '        if (! this.process_display_message(msg))',
      '            this.log_warn("display: Unknown message type " + msg.type + "!");',
      '    }',
      '    if (this.held_messages)',
      '        this.held_messages = held.concat(this.held_messages);',
      '}',
      '',
      'function handle_held_jpeg_onload()',
      '{',
      '    var sc = this.o.sc;',
      '    try',
      '    {',
      '        handle_draw_jpeg_onload.call(this);',
      '    }',
      '    finally',
      '    {',
      '        sc.release_held_messages();',
      '    }',
      '}',
      '',
      'function handle_held_jpeg_onerror()',
      '{',
      '    this.o.sc.log_warn("display: a JPEG image could not be decoded");',
      '    this.o.sc.release_held_messages();',
      '}',
      '',
      'SpiceDisplayConn.prototype.process_display_message = function(msg)',
      '{',
      '',
    ].join('\n'),
  },
  {
    file: 'src/spicemsg.js',
    why:
      'scale to window: the canvas is shrunk by CSS to fit the window in both dimensions, but ' +
      'spice-html5 sends the mouse position in CSS pixels (offsetX), so clicks landed up and left ' +
      "of the pointer: positions are scaled back to the surface's own pixels",
    find: '        this.x = e.offsetX;\n        this.y = e.offsetY;\n',
    replace: '        this.x = surface_x(e);\n        this.y = surface_y(e);\n',
    count: 2, // MousePosition and MouseMotion
  },
  {
    file: 'src/spicemsg.js',
    why: "the same scaling for the last position, which MouseMotion's relative moves start from",
    find: '        sc.mousex = e.offsetX;\n        sc.mousey = e.offsetY;\n',
    replace: '        sc.mousex = surface_x(e);\n        sc.mousey = surface_y(e);\n',
    count: 2,
  },
  {
    file: 'src/spicemsg.js',
    why: 'the scaling itself: CSS pixels of the canvas box to surface pixels',
    find: 'function SpiceMsgcMousePosition(sc, e)\n',
    replace: [
      '/* Porthole: the canvas may be scaled by CSS; the guest wants its surface pixels. */',
      'function surface_x(e)',
      '{',
      '    var c = e.target;',
      '    return c && c.clientWidth ? Math.round(e.offsetX * c.width / c.clientWidth) : e.offsetX;',
      '}',
      '',
      'function surface_y(e)',
      '{',
      '    var c = e.target;',
      '    return c && c.clientHeight ? Math.round(e.offsetY * c.height / c.clientHeight) : e.offsetY;',
      '}',
      '',
      'function SpiceMsgcMousePosition(sc, e)',
      '',
    ].join('\n'),
  },
  {
    file: 'src/spicemsg.js',
    why:
      'keys by physical key: spice-html5 maps keyCode through a US table, so the ISO key left ' +
      "of Z, the keypad's * and -, and Japanese keys were dropped (with an alert) or sent as " +
      'another key; the connector puts the scancode of KeyboardEvent.code on the event ' +
      '(web/src/connectors/spice-scancodes.ts), used here when present',
    find: '        this.code = keycode_to_start_scan(e.keyCode);\n',
    replace: '        this.code = e.porthole_scancode !== undefined ? e.porthole_scancode : keycode_to_start_scan(e.keyCode);\n',
  },
  {
    file: 'src/spicemsg.js',
    why: 'the same for key releases',
    find: '        this.code = keycode_to_end_scan(e.keyCode);\n',
    replace: '        this.code = e.porthole_scancode !== undefined ? e.porthole_scancode : keycode_to_end_scan(e.keyCode);\n',
  },
  {
    file: 'src/main.js',
    why:
      'clipboard: spice-html5 has no clipboard code, and reads every AGENT_DATA payload as one ' +
      'whole agent message, though a message may span many; the connector (web/src/connectors/' +
      'spice-clipboard.ts) sees each payload first and keeps the ones it handles',
    find: '    if (msg.type == Constants.SPICE_MSG_MAIN_AGENT_DATA)\n    {\n',
    replace:
      '    if (msg.type == Constants.SPICE_MSG_MAIN_AGENT_DATA)\n    {\n' +
      '        if (this.porthole_agent_data !== undefined && this.porthole_agent_data(msg.data))\n            return true;\n',
  },
  {
    file: 'src/main.js',
    why: 'clipboard: the agent announces its capabilities again after it reconnects; what the connector knew of it is gone',
    find: '    this.agent_connected = true;\n',
    replace:
      '    this.agent_connected = true;\n    if (this.porthole_agent_changed !== undefined)\n        this.porthole_agent_changed();\n',
  },
  {
    file: 'src/main.js',
    why: 'clipboard: the same when the agent goes away (the guest rebooted, its agent stopped)',
    find: '        this.agent_connected = false;\n',
    replace:
      '        this.agent_connected = false;\n        if (this.porthole_agent_changed !== undefined)\n            this.porthole_agent_changed();\n',
  },
  {
    file: 'src/main.js',
    why:
      "clipboard: the client's capabilities come from the connector, which adds CLIPBOARD_BY_DEMAND " +
      "and CLIPBOARD_SELECTION to spice-html5's three",
    find:
      '    var caps = new Messages.VDAgentAnnounceCapabilities(request, (1 << Constants.VD_AGENT_CAP_MOUSE_STATE) |\n' +
      '                                                        (1 << Constants.VD_AGENT_CAP_MONITORS_CONFIG) |\n' +
      '                                                        (1 << Constants.VD_AGENT_CAP_REPLY));\n',
    replace:
      '    var caps = new Messages.VDAgentAnnounceCapabilities(request, this.porthole_agent_caps !== undefined ? this.porthole_agent_caps :\n' +
      '                                                        (1 << Constants.VD_AGENT_CAP_MOUSE_STATE) |\n' +
      '                                                        (1 << Constants.VD_AGENT_CAP_MONITORS_CONFIG) |\n' +
      '                                                        (1 << Constants.VD_AGENT_CAP_REPLY));\n',
  },
  {
    file: 'src/main.js',
    why:
      'sound: the playback channel was stored as `cursor`, overwriting the cursor channel, so ' +
      "stop() closed the playback channel but left the cursor channel's WebSocket open after a " +
      'disconnect (upstream main.js has the same line); it is kept as `playback`, and the ' +
      'connector hears that the desktop has sound (web/src/connectors/spice-sound.ts)',
    find: '                this.cursor = new SpicePlaybackConn(conn);\n',
    replace:
      '            {\n' +
      '                this.playback = new SpicePlaybackConn(conn);\n' +
      '                if (this.porthole_playback_opened !== undefined)\n' +
      '                    this.porthole_playback_opened();\n' +
      '            }\n',
  },
  {
    file: 'src/main.js',
    why: 'sound: stop() closes the playback channel too, now that it is no longer the cursor',
    find: '    if (this.cursor)\n    {\n        this.cursor.cleanup();\n        this.cursor = undefined;\n    }\n',
    replace:
      '    if (this.cursor)\n    {\n        this.cursor.cleanup();\n        this.cursor = undefined;\n    }\n\n' +
      '    if (this.playback)\n    {\n        this.playback.cleanup();\n        this.playback = undefined;\n    }\n',
  },
];
