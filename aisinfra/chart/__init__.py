"""What the AIStore chart needs: its naming rules, its values, the rules on what it makes of
a worksheet, and the post-renderer that repairs its defects. Imports only the worksheet layer."""
