// The channel list: every channel Herald fans release events out to, in the order they are
// told (one after the other; the order the fan-out has always queued them in).
// A new channel is one folder with a Channel (src/channel.ts) and one line here.
import type { Channel } from "../channel.ts";
import { feedsChannel } from "../feeds/channel.ts";
import { emailChannel } from "../mail/channel.ts";
import { partnersChannel } from "../partners/channel.ts";

export const CHANNELS = [feedsChannel, emailChannel, partnersChannel] as const satisfies readonly Channel[];
