# Cadenza from Sonic Pi: send a prime, then play the continuation.
#
# 1. Start the daemon:  cadenza serve          (OSC on 127.0.0.1:9000)
# 2. Paste this into a Sonic Pi buffer and press Run.
#
# Sonic Pi listens for OSC on port 4560, so Cadenza is asked to reply there (reply_port).
# Notes arrive as /cadenza/notes id pitch start dur vel ... while they are generated;
# /cadenza/done id count ends the reply, and then the whole continuation is played.

use_bpm 100
set :cadenza_id, rand_i(100000)
set :cadenza_notes, []

use_osc "localhost", 9000
prime = [60, 0, 1, 90,  64, 1, 1, 90,  67, 2, 1, 90,  72, 3, 1, 100]   # pitch, start, dur (beats), velocity
osc "/cadenza/continue", get[:cadenza_id], *prime, "reply_port", 4560, "beats", 8

live_loop :cadenza_collect do
  msg = sync "/osc*/cadenza/notes"
  if msg[0] == get[:cadenza_id]
    set :cadenza_notes, get[:cadenza_notes] + msg[1..].each_slice(4).to_a
  end
end

live_loop :cadenza_play do
  msg = sync "/osc*/cadenza/done"
  if msg[0] == get[:cadenza_id]
    get[:cadenza_notes].each do |pitch, start, dur, vel|
      at start do                                   # start is in beats from now, at use_bpm
        synth :piano, note: pitch, sustain: dur, amp: vel / 127.0
      end
    end
    set :cadenza_notes, []
  end
end

live_loop :cadenza_errors do
  msg = sync "/osc*/cadenza/error"
  puts "Cadenza: #{msg[1]}"
end

# A beat: the prime's rhythm goes to drumify; the drum part (General MIDI drums) comes back and loops.
set :cadenza_beat_id, rand_i(100000) + 100000
set :cadenza_beat, []
osc "/cadenza/drumify", get[:cadenza_beat_id], *prime, "reply_port", 4560, "density", 2

DRUM_SAMPLES = { 36 => :drum_heavy_kick, 38 => :drum_snare_hard, 42 => :drum_cymbal_closed,
                 46 => :drum_cymbal_open, 49 => :drum_splash_hard, 51 => :drum_cymbal_soft }

live_loop :cadenza_beat_collect do
  msg = sync "/osc*/cadenza/notes"
  set :cadenza_beat, get[:cadenza_beat] + msg[1..].each_slice(4).to_a if msg[0] == get[:cadenza_beat_id]
end

live_loop :cadenza_beat_play do
  get[:cadenza_beat].each do |pitch, start, dur, vel|
    at start do
      sample DRUM_SAMPLES.fetch(pitch, :drum_tom_mid_soft), amp: vel / 127.0
    end
  end
  sleep 4
end
