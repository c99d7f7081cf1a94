"""The corpus: monograph files -> Monograph, the vocabulary and drug names, the corpus
check and the openFDA import. Knows nothing of any index or backend."""
