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
];
