"""Styles of music a model may be told it plays: the Groove MIDI Dataset's (info.csv, the part of a file's
style before "/"), which the groove model hears (bridge.codecs.drums.groove_features) and the `style`
setting chooses from. Plain names, no imports: the settings read them at start."""
STYLES = ("afrobeat", "afrocuban", "blues", "country", "dance", "funk", "gospel", "highlife", "hiphop", "jazz",
          "latin", "middleeastern", "neworleans", "pop", "punk", "reggae", "rock", "soul")
