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
cadenza train $C/kern/mozart-piano-sonatas $C/kern/beethoven-piano-sonatas --codec kern --name sonata-kern \
  --layers 3 --units 256 --dropout 0.2 --steps-per-epoch 200 --patience 3 --max-minutes 30 \
  --note "Mozart (CC BY-NC-SA 4.0) and Beethoven (research use) piano sonatas, **kern, Craig Sapp's editions" "$@"
cadenza train $C/piano-midi --codec messages --arch attention_lstm --name messages \
  --units 256 --arg window=32 --seq-len 128 --batch 32 --steps-per-epoch 100 --patience 3 --max-minutes 20 \
  --note "piano-midi.de, Bernd Krueger (cc-by-sa; study and research use)" "$@"

# chorale-infill: the chorale model, 28 more minutes in fill-in-the-middle order (session 6)
cadenza train $C/kern/bach-370-chorales --codec notewise --name chorale-infill --fim --init chorale \
  --layers 2 --units 256 --dropout 0.3 --steps-per-epoch 50 --patience 6 --lr 0.001 --max-minutes 28 \
  --note "Bach 370 chorales, **kern (CC BY-NC-SA 4.0); infill (fill-in-the-middle) from the chorale model" "$@"
