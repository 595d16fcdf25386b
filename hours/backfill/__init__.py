"""Back-filled hours (补录): service recorded on paper, entered with an evidence file."""
