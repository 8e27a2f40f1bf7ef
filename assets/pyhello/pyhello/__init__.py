"""pyhello: the sample python app that raijin's demo and tests deploy (kind = "python")."""
