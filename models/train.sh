#!/usr/bin/env bash
# The exact commands that trained the shipped models, on a 2-core CPU (see each cadenza.json for
# the split, the training history and the metrics). Run from the repository root, with ../shared beside it.
set -euo pipefail
C=../shared/corpus
cadenza train $C/kern/bach-370-chorales --codec notewise --name chorale \
  --layers 2 --units 256 --dropout 0.3 --steps-per-epoch 50 --patience 6 --max-minutes 40 \
  --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0)" "$@"
cadenza train $C/piano-midi --codec performance --name piano \
  --layers 2 --units 256 --dropout 0.1 --steps-per-epoch 200 --patience 3 --max-minutes 40 \
  --note "piano-midi.de, Bernd Krueger (cc-by-sa; study and research use)" "$@"
# ... then 35 more minutes from those weights ...
cadenza train $C/piano-midi --codec performance --name piano --init piano \
  --layers 2 --units 256 --dropout 0.1 --steps-per-epoch 200 --patience 3 --max-minutes 35 \
  --note "piano-midi.de, Bernd Krueger (cc-by-sa; study and research use)" "$@"
# ... then 50 more minutes from those, now also reading the sounding notes (note_state: the new input
# weights start at zero), the shipped piano model; its cadenza.json records "init" and the history
cadenza train $C/piano-midi --codec performance --name piano --init piano --arg note_state=true \
  --layers 2 --units 256 --dropout 0.1 --steps-per-epoch 200 --patience 3 --max-minutes 50 \
  --note "piano-midi.de, Bernd Krueger (cc-by-sa; study and research use)" "$@"
# ... then (session 9) 80 more minutes from those weights: 3.02 -> 2.87 bits/token,
# still improving when the budget ran out; its cadenza.json keeps the earlier chain under training.init_from
cadenza train $C/piano-midi --codec performance --name piano --init piano --arg note_state=true \
  --layers 2 --units 256 --dropout 0.1 --steps-per-epoch 200 --patience 3 --max-minutes 80 \
  --note "piano-midi.de, Bernd Krueger (cc-by-sa; study and research use)" "$@"
# ... then (session 13, shipped in session 15) 81 more minutes from those weights at half the learning rate:
# 2.87 -> 2.83 bits/token, still improving when the budget ran out
cadenza train $C/piano-midi --codec performance --name piano --init piano --arg note_state=true \
  --layers 2 --units 256 --dropout 0.1 --steps-per-epoch 200 --patience 3 --lr 0.001 --max-minutes 80 \
  --note "piano-midi.de, Bernd Krueger (cc-by-sa; study and research use)" "$@"
cadenza train $C/kern/mozart-piano-sonatas $C/kern/beethoven-piano-sonatas --codec kern --name sonata-kern \
  --layers 3 --units 256 --dropout 0.2 --steps-per-epoch 200 --patience 3 --max-minutes 30 \
  --note "Mozart (CC BY-NC-SA 4.0) and Beethoven (research use) piano sonatas, **kern, Craig Sapp's editions" "$@"
# ... then (session 20) 50 more minutes from those weights at half the learning rate, trained by PyTorch on this
# machine's CPU (models/lstm_gpu.py: the same net, stream, windows and loss as `cadenza train`; 0.58 s a step
# against TensorFlow's ~1.0 here), saved by `cadenza train --weights`
K=(--codec kern --layers 3 --units 256 --dropout 0.2 --steps-per-epoch 200 --patience 3
   --note "Mozart (CC BY-NC-SA 4.0) and Beethoven (research use) piano sonatas, **kern, Craig Sapp's editions")
python models/lstm_gpu.py windows $C/kern/mozart-piano-sonatas $C/kern/beethoven-piano-sonatas --name sonata-kern \
  "${K[@]}" --init sonata-kern --sample-seed 1 --lr 0.001 --to data/sonata-kern.npz
python models/lstm_gpu.py train data/sonata-kern.npz data/sonata-kern-run.npz --max-minutes 50
cadenza train $C/kern/mozart-piano-sonatas $C/kern/beethoven-piano-sonatas --name sonata-kern "${K[@]}" \
  --weights data/sonata-kern-run.npz "$@"
cadenza train $C/piano-midi --codec messages --arch attention_lstm --name messages \
  --units 256 --arg window=32 --seq-len 128 --batch 32 --steps-per-epoch 100 --patience 3 --max-minutes 20 \
  --note "piano-midi.de, Bernd Krueger (cc-by-sa; study and research use)" "$@"

# chorale-infill: the chorale model, 28 more minutes in fill-in-the-middle order (session 6)
cadenza train $C/kern/bach-370-chorales --codec notewise --name chorale-infill --fim --init chorale \
  --layers 2 --units 256 --dropout 0.3 --steps-per-epoch 50 --patience 6 --lr 0.001 --max-minutes 28 \
  --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0); infill (fill-in-the-middle) from the chorale model" "$@"
# then (session 8, the shipped model) 35 more minutes in the melody's order: prefix, the suffix's start,
# the prefix's end again, middle, with 30% plain windows
cadenza train $C/kern/bach-370-chorales --codec notewise --name chorale-infill --init chorale-infill --fim \
  --fim-order psm --fim-suffix 32 --fim-again 16 --fim-plain 0.3 --layers 2 --units 256 --dropout 0.3 \
  --steps-per-epoch 50 --patience 6 --lr 0.001 --max-minutes 35 \
  --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0); infill (prefix, the suffix's start, the prefix's end again, middle) from the earlier chorale-infill model" "$@"

# melody (session 7): music21's folk collections written as MIDI, then Nottingham and them, the top line
# only, in fill-in-the-middle order (prefix, the suffix's start) with 30% of the windows plain, 35 minutes;
# then 22 more minutes reading the prefix's last 16 tokens again after the suffix (the shipped model)
cadenza export-music21 essenFolksong oneills1850 ryansMammoth --out data/folk
cadenza train $C/nottingham data/folk --codec notewise --param melody=true --param low=48 --param high=96 \
  --name melody --fim --fim-order psm --fim-plain 0.3 --layers 2 --units 256 --dropout 0.2 \
  --steps-per-epoch 100 --patience 4 --max-minutes 35 \
  --note "Nottingham folk tunes (GPL-3.0) and music21's Essen, O'Neill 1850 and Ryan's Mammoth collections (music21 corpus terms); the top line only" "$@"
cadenza train $C/nottingham data/folk --codec notewise --param melody=true --param low=48 --param high=96 \
  --name melody --init melody --fim --fim-order psm --fim-again 16 --fim-plain 0.3 --layers 2 --units 256 \
  --dropout 0.2 --steps-per-epoch 100 --patience 4 --lr 0.001 --max-minutes 22 \
  --note "Nottingham folk tunes (GPL-3.0) and music21's Essen, O'Neill 1850 and Ryan's Mammoth collections (music21 corpus terms); the top line only" "$@"

# drums and groove (session 7): the Groove MIDI Dataset on its own split (info.csv)
cadenza train $C/groove --codec drums --name drums --transpose 0 --layers 2 --units 256 --dropout 0.2 \
  --steps-per-epoch 100 --patience 4 --max-minutes 15 \
  --note "Groove MIDI Dataset v1.0.0 (Magenta), CC BY 4.0: its own train/validation split" "$@"
# (session 14) the groove model hears the style and the tempo (train-groove's default now; --no-styles for the
# session 7 model), 35 minutes; it calibrates drumify's thresholds itself
cadenza train-groove $C/groove --name groove --max-minutes 35 --patience 15 --free-bits 16 \
  --note "Groove MIDI Dataset v1.0.0 (Magenta), CC BY 4.0: train and validation splits"
# (session 10) drumify's threshold per drum class, calibrated on the training split (train-groove now does it
# itself): each class struck as often as the drummers struck it; written into models/groove/cadenza.json
python -c "from bridge.training.groove import calibrate; print(calibrate('groove'))"
# (session 18) two more, their decoders reading the steps both ways (train-groove's default now), each learning
# the median of every velocity and offset, seeds 0 and 1; then the three joined as the shipped `groove` (an
# ensemble: groove and drumify play the members' mean; calibrated again as one). The members are written to
# data/groove-members, not the store: only the joined model ships.
cadenza train-groove $C/groove --name groove-b --out data/groove-members --error absolute --max-minutes 40 \
  --patience 15 --free-bits 16 --note "Groove MIDI Dataset v1.0.0 (Magenta), CC BY 4.0: train and validation splits"
cadenza train-groove $C/groove --name groove-c --out data/groove-members --error absolute --seed 1 --max-minutes 35 \
  --patience 15 --free-bits 16 --note "Groove MIDI Dataset v1.0.0 (Magenta), CC BY 4.0: train and validation splits"
cadenza train-groove $C/groove --join groove --join data/groove-members/groove-b --join data/groove-members/groove-c \
  --name groove
# (session 19) three more, trained with PyTorch on a lent GPU (models/groove_gpu.py: the same net, windows, tasks and
# loss; nothing needs a GPU, `cadenza train-groove` trains the same on a CPU): 14 runs at once for 7.5 minutes, then
# the four best 3.4 minutes more from their weights at 256 windows a step (the lines below, run there; runNN is the
# NN-th --run). Then six joined: session 14's model, session 18's two, and three of these; groove played by four of
# them, drumify by three (--use; docs/drums.md "Six models in one").
python models/groove_gpu.py windows $C/groove data/groove-windows.npz
A="--error absolute --patience 20 --epochs 400 --max-minutes 7.5"
python models/groove_gpu.py sweep data/groove-windows.npz data/gpu-runs --run "$A --seed 10" \
  --run "$A --seed 11 --dropout 0.1" --run "$A --seed 12 --dropout 0.2" --run "$A --seed 13 --dropout 0.3" \
  --run "$A --seed 14 --dropout 0.2 --batch 128" --run "$A --seed 15 --dropout 0.2 --batch 256 --lr 0.002" \
  --run "$A --seed 16 --dropout 0.2 --style-drop 0.3" --run "$A --seed 17 --dropout 0.2 --beta 0.1" \
  --run "$A --seed 18 --dropout 0.2" --run "$A --seed 19 --dropout 0.1 --batch 128" \
  --run "${A/absolute/squared} --seed 20 --dropout 0.2" --run "${A/absolute/squared} --seed 21 --dropout 0.1" \
  --run "${A/absolute/squared} --seed 22 --dropout 0.3" --run "${A/absolute/squared} --seed 23 --dropout 0.2 --batch 128"
B="--error absolute --patience 20 --epochs 400 --max-minutes 3.4 --batch 256 --lr 0.001"
python models/groove_gpu.py sweep data/groove-windows.npz data/gpu-more --run "$B --seed 110 --init data/gpu-runs/run00.npz" \
  --run "$B --seed 114 --dropout 0.2 --init data/gpu-runs/run04.npz" \
  --run "$B --seed 115 --dropout 0.2 --init data/gpu-runs/run05.npz" \
  --run "$B --seed 117 --dropout 0.2 --beta 0.1 --init data/gpu-runs/run07.npz"
for k in 0:g0 1:g1 3:g3; do
  cadenza train-groove $C/groove --weights data/gpu-more/run0${k%%:*}.npz --name groove-${k##*:} --out data/groove-members \
    --note "Groove MIDI Dataset v1.0.0 (Magenta), CC BY 4.0: train and validation splits"
done
D=data/groove-members  # groove-s14: session 14's model (git show 4ce4037:models/groove/...)
cadenza train-groove $C/groove --join $D/groove-s14 --join $D/groove-b --join $D/groove-c --join $D/groove-g0 \
  --join $D/groove-g1 --join $D/groove-g3 --use groove=0,3,4,5 --use drumify=0,1,2 --name groove
# (session 25) calibrated again (the weights as above): calibration now also fits the style guesser and the
# velocity lines (train-groove and --join run it themselves; docs/drums.md "A beat not told its style")
python -c "from bridge.training.groove import calibrate; print(calibrate('groove'))"

# piano-infill (session 7): from the piano model's weights (its note-state input dropped), psm order
cadenza train $C/piano-midi --codec performance --name piano-infill --init piano --fim --fim-order psm \
  --fim-suffix 48 --fim-again 16 --fim-plain 0.3 --layers 2 --units 256 --dropout 0.1 --steps-per-epoch 200 \
  --patience 4 --lr 0.001 --max-minutes 25 \
  --note "piano-midi.de, Bernd Krueger (cc-by-sa; study and research use); infill (prefix, suffix start, prefix end again, middle) from the piano model's weights, without its note-state input" "$@"

# chorale-harmony (session 10): the harmony codec (the soprano read two beats ahead of alto, tenor and bass),
# 40 minutes from scratch, then 45 more from those weights, twice (the second time in session 13: the shipped
# model, validation 1.313 -> 1.270 bits; bench harmonize --record)
cadenza train $C/kern/bach-370-chorales --codec harmony --name chorale-harmony --layers 2 --units 256 \
  --dropout 0.3 --steps-per-epoch 50 --patience 6 --max-minutes 40 \
  --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0); the soprano read two beats ahead of alto, tenor and bass" "$@"
for again in 1 2; do
  cadenza train $C/kern/bach-370-chorales --codec harmony --name chorale-harmony --init chorale-harmony \
    --layers 2 --units 256 --dropout 0.3 --steps-per-epoch 50 --patience 6 --lr 0.0015 --max-minutes 45 \
    --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0); the soprano read two beats ahead of alto, tenor and bass" "$@"
done
# (session 16, the shipped model) started instead from the chorale model's weights (below: run that first), each
# harmony token's embedding and logits from the notewise token that means the same, 55 minutes: validation 1.188
# bits on all its tokens (1.270 before), the real parts 1.146 bits given the melody (1.253)
cadenza train $C/kern/bach-370-chorales --codec harmony --name chorale-harmony --init chorale \
  --layers 2 --units 256 --dropout 0.3 --steps-per-epoch 50 --patience 6 --lr 0.001 --max-minutes 55 \
  --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0); the soprano read two beats ahead of alto, tenor and bass; started from the chorale model's weights" "$@"
cadenza bench harmonize --model chorale-harmony --baseline chorale --record
# ... then (session 20, the shipped model) 23 more minutes from those weights by PyTorch on this machine's CPU
# (models/lstm_gpu.py; 17 epochs of 200 steps): 1.188 -> 1.120 bits on all its tokens, the real parts 1.052 given
# the melody (0.94x chorale's)
H=(--codec harmony --layers 2 --units 256 --dropout 0.3 --steps-per-epoch 50 --patience 6)
python models/lstm_gpu.py windows $C/kern/bach-370-chorales --name chorale-harmony "${H[@]}" --init chorale-harmony \
  --lr 0.001 --to data/harmony.npz
python models/lstm_gpu.py train data/harmony.npz data/harmony-run.npz --steps-per-epoch 200 --patience 4 \
  --max-minutes 22 --seed 1
cadenza train $C/kern/bach-370-chorales --name chorale-harmony "${H[@]}" --weights data/harmony-run.npz \
  --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0); the soprano read two beats ahead of alto, tenor and bass; started from the chorale model's weights, then 23 more minutes by PyTorch on this CPU" "$@"
cadenza bench harmonize --model chorale-harmony --baseline chorale --record
# ... then (session 21, the shipped model) 28 more minutes from those weights, the learning rate lowered twice when
# three epochs brought nothing better: 1.120 -> 1.104 bits on all its tokens, the real parts 0.977 -> 0.954 given
# the melody (0.859x chorale's; bench harmonize scoring each model by what its sampler can draw)
python models/lstm_gpu.py windows $C/kern/bach-370-chorales --name chorale-harmony "${H[@]}" --init chorale-harmony \
  --lr 0.001 --to data/harmony.npz
python models/lstm_gpu.py train data/harmony.npz data/harmony-run3.npz --steps-per-epoch 200 --patience 3 \
  --lower 0.3 --lowerings 2 --max-minutes 100 --seed 2
cadenza train $C/kern/bach-370-chorales --name chorale-harmony "${H[@]}" --weights data/harmony-run3.npz \
  --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0); the soprano read two beats ahead of alto, tenor and bass; started from the chorale model's weights, then trained further by PyTorch on this CPU (sessions 20 and 21)" "$@"
cadenza bench harmonize --model chorale-harmony --baseline chorale --record
cadenza bench along --melodies 40 --beats 8 --qpm 120
# (session 21, not shipped) from it, the melody's tokens weighing less in the loss: the parts 0.951, 0.948, 0.946
# (0.851x) but the melody predicted worse, and play along with it (docs/harmonize.md)
python models/lstm_gpu.py windows $C/kern/bach-370-chorales --name chorale-harmony "${H[@]}" --init chorale-harmony \
  --lr 0.001 --to data/harmony4.npz
python models/lstm_gpu.py train data/harmony4.npz data/harmony-run4.npz --steps-per-epoch 200 --patience 3 \
  --lower 0.3 --lowerings 2 --given-weight 0.25 --lr 0.0003 --max-minutes 45 --seed 4
cadenza train $C/kern/bach-370-chorales --name chorale-harmony "${H[@]}" --weights data/harmony-run4.npz --out data/tried4
cadenza bench harmonize --model data/tried4/chorale-harmony --baseline chorale
cadenza bench along --model data/tried4/chorale-harmony --melodies 40 --beats 8 --qpm 120
# (then --given-weight 0.1, --lr 0.0003, --patience 2 --lowerings 1, 26 minutes at most, --seed 5, from data/tried4;
# and --given-weight 0.03, --lr 0.0002, 21 minutes, --seed 6, from that)
# (session 19, not shipped) the same from the chorale model's weights with the melody a bar ahead: 1.166 bits on
# the real parts against the shipped model's 1.146 (docs/harmonize.md)
cadenza train $C/kern/bach-370-chorales --codec harmony --param lead=48 --name chorale-harmony-48 --out data/tried \
  --init chorale --layers 2 --units 256 --dropout 0.3 --steps-per-epoch 50 --patience 6 --lr 0.001 --max-minutes 50 \
  --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0); the soprano read a bar (four beats) ahead of alto, tenor and bass; started from the chorale model's weights" "$@"
cadenza bench harmonize --model data/tried/chorale-harmony-48 --baseline chorale

# folk-chords (session 11): the same codec on the Nottingham tunes, the tune (the top line) read two beats ahead
# of its chords and bass (the second part), 32 minutes from scratch
cadenza train $C/nottingham --codec harmony --name folk-chords --layers 2 --units 256 --dropout 0.3 \
  --steps-per-epoch 50 --patience 6 --max-minutes 32 \
  --note "Nottingham folk tunes (GPL-3.0): the tune read two beats ahead of its chords" "$@"
cadenza bench harmonize --model folk-chords --baseline "" --record  # no unconditional model of tune-and-chords here: given against withheld
# ... then (sessions 22 and 24; the shipped model is the second) 42 and 50 more minutes, each from the weights
# before, by PyTorch on this CPU, the learning rate lowered when three epochs brought nothing better (docs/harmonize.md)
F=(--codec harmony --layers 2 --units 256 --dropout 0.3 --steps-per-epoch 50 --patience 6)
folk_more() {  # MINUTES SEED NOTE
  python models/lstm_gpu.py windows $C/nottingham --name folk-chords "${F[@]}" --init folk-chords --lr 0.001 \
    --to data/folk.npz
  python models/lstm_gpu.py train data/folk.npz data/folk-run.npz --steps-per-epoch 200 --patience 3 --lower 0.3 \
    --lowerings 2 --max-minutes "$1" --seed "$2"
  cadenza train $C/nottingham --name folk-chords "${F[@]}" --weights data/folk-run.npz \
    --note "Nottingham folk tunes (GPL-3.0): the tune read two beats ahead of its chords; $3" "${@:4}"
  cadenza bench harmonize --model folk-chords --baseline "" --record
}
folk_more 42 1 "32 minutes, then 42 more by PyTorch on this CPU" "$@"
folk_more 50 2 "32 minutes, then 42 and 50 more by PyTorch on this CPU" "$@"

# chorale, further (session 12, the shipped chorale model): 75 more minutes from the 40-minute chorale model
# above (its curve was still falling), last so that chorale-infill starts from that one, as shipped
cadenza train $C/kern/bach-370-chorales --codec notewise --name chorale --init chorale \
  --layers 2 --units 256 --dropout 0.3 --steps-per-epoch 50 --patience 6 --max-minutes 75 \
  --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0)" "$@"
# (session 25, not shipped) 50 more minutes from those weights by PyTorch on this CPU: 1.078 -> 1.002 bits, but busier
# at the defaults (docs/controls.md): 4 or 5 of 14 statistics within 0.3 real std against the shipped model's 9
python models/lstm_gpu.py windows $C/kern/bach-370-chorales --name chorale --codec notewise --layers 2 --units 256 \
  --dropout 0.3 --steps-per-epoch 50 --patience 6 --init chorale --lr 0.001 --to data/chorale.npz
python models/lstm_gpu.py train data/chorale.npz data/chorale-run.npz --steps-per-epoch 200 --patience 3 --lower 0.3 \
  --lowerings 2 --max-minutes 50 --seed 1
cadenza train $C/kern/bach-370-chorales --name chorale --codec notewise --layers 2 --units 256 --dropout 0.3 \
  --steps-per-epoch 50 --patience 6 --weights data/chorale-run.npz --out data/tried
cadenza eval --model data/tried/chorale --pieces 32 --seed 0   # and --seed 1000; --temperature 1 --top-p 1
