"""The offline default: GlyphNet, its generated glyph data, its pretraining recipe and its weights."""
